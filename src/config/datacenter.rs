//! Zoho data centers and the URLs each one derives (`shared/zoho/desk-api.md`, `cliq-api.md`).

use std::fmt;

/// The `zoho.data_center` values deskcliq knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataCenter {
    Com,
    Eu,
    In,
    ComAu,
    Jp,
    Ca,
    Sa,
    Cn,
    Uk,
}

impl DataCenter {
    pub const ALL: [DataCenter; 9] = [
        DataCenter::Com,
        DataCenter::Eu,
        DataCenter::In,
        DataCenter::ComAu,
        DataCenter::Jp,
        DataCenter::Ca,
        DataCenter::Sa,
        DataCenter::Cn,
        DataCenter::Uk,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DataCenter::Com => "com",
            DataCenter::Eu => "eu",
            DataCenter::In => "in",
            DataCenter::ComAu => "com.au",
            DataCenter::Jp => "jp",
            DataCenter::Ca => "ca",
            DataCenter::Sa => "sa",
            DataCenter::Cn => "cn",
            DataCenter::Uk => "uk",
        }
    }

    pub fn parse(s: &str) -> Option<DataCenter> {
        let s = s.trim().to_ascii_lowercase();
        let s = s.trim_start_matches('.');
        // Accept the domain suffix spelling too ("com.cn", "zohocloud.ca"), and the names
        // Zoho's OAuth callback gives in `location` ("us", "au").
        let s = match s {
            "com.cn" => "cn",
            "zohocloud.ca" => "ca",
            "us" => "com",
            "au" => "com.au",
            other => other,
        };
        DataCenter::ALL.into_iter().find(|dc| dc.name() == s)
    }

    /// `https://{service}.zoho.{tld}`, or `{service}.zohocloud.ca` for Canada.
    fn host(self, service: &str) -> String {
        match self {
            DataCenter::Ca => format!("https://{service}.zohocloud.ca"),
            DataCenter::Cn => format!("https://{service}.zoho.com.cn"),
            other => format!("https://{service}.zoho.{}", other.name()),
        }
    }

    pub fn accounts_url(self) -> String {
        self.host("accounts")
    }

    pub fn desk_url(self) -> String {
        self.host("desk")
    }

    pub fn cliq_url(self) -> String {
        self.host("cliq")
    }

    pub fn jwks_url(self) -> String {
        format!("{}/.well-known/jwks.json", self.desk_url())
    }
}

impl fmt::Display for DataCenter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_data_center_derives_its_hosts() {
        assert_eq!(DataCenter::Jp.accounts_url(), "https://accounts.zoho.jp");
        assert_eq!(DataCenter::Jp.desk_url(), "https://desk.zoho.jp");
        assert_eq!(DataCenter::Jp.cliq_url(), "https://cliq.zoho.jp");
        assert_eq!(
            DataCenter::Jp.jwks_url(),
            "https://desk.zoho.jp/.well-known/jwks.json"
        );
        assert_eq!(DataCenter::ComAu.desk_url(), "https://desk.zoho.com.au");
        assert_eq!(DataCenter::Ca.cliq_url(), "https://cliq.zohocloud.ca");
        assert_eq!(
            DataCenter::Cn.accounts_url(),
            "https://accounts.zoho.com.cn"
        );
        assert_eq!(DataCenter::Sa.desk_url(), "https://desk.zoho.sa");
        assert_eq!(DataCenter::Com.cliq_url(), "https://cliq.zoho.com");
    }

    #[test]
    fn parse_accepts_the_names_of_the_contract() {
        for dc in DataCenter::ALL {
            assert_eq!(DataCenter::parse(dc.name()), Some(dc));
        }
        assert_eq!(DataCenter::parse("com.cn"), Some(DataCenter::Cn));
        assert_eq!(DataCenter::parse("mars"), None);
    }
}
