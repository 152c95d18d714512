//! Every "what to do next" the tool prints, built in one place so each is a
//! bare command that can be copied as is, with the profile's own flags.

use crate::profile::ProfileName;
use crate::region::Region;

const BIN: &str = "minimax-portal-auth";

/// ` --profile NAME` unless it is the default profile.
pub fn profile_flag(name: &ProfileName) -> String {
    if name.as_str() == "default" {
        String::new()
    } else {
        format!(" --profile {name}")
    }
}

/// The command that signs a profile in (again).
pub fn login(name: &ProfileName, region: Option<Region>) -> String {
    let region = region
        .map(|r| format!(" --region {}", r.as_str()))
        .unwrap_or_default();
    format!("{BIN} login{region}{}", profile_flag(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_carry_the_profile_and_region() {
        let work = ProfileName::parse("work").unwrap();
        assert_eq!(
            login(&work, Some(Region::Cn)),
            "minimax-portal-auth login --region cn --profile work"
        );
        assert_eq!(
            login(&ProfileName::default(), None),
            "minimax-portal-auth login"
        );
    }
}
