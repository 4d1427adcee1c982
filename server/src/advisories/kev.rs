//! CISA's Known Exploited Vulnerabilities catalogue (its JSON): the CVEs known to be
//! exploited in the wild. A CVE in it is flagged "exploited" wherever it is shown.

use serde::Deserialize;

use super::{FeedError, KnownExploited, is_cve};
use crate::repos::date::parse_yum_date_ms;

#[derive(Deserialize)]
struct Catalogue {
    vulnerabilities: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    #[serde(rename = "cveID")]
    cve_id: String,
    #[serde(default)]
    vulnerability_name: String,
    #[serde(default)]
    date_added: String,
    #[serde(default)]
    known_ransomware_campaign_use: String,
}

pub fn parse(bytes: &[u8], what: &str) -> Result<Vec<KnownExploited>, FeedError> {
    let cat: Catalogue = serde_json::from_slice(bytes).map_err(|e| FeedError::format(what, e))?;
    let mut out: Vec<KnownExploited> = cat
        .vulnerabilities
        .into_iter()
        .filter(|e| is_cve(&e.cve_id))
        .map(|e| KnownExploited {
            added_ms: parse_yum_date_ms(&e.date_added),
            ransomware: e.known_ransomware_campaign_use.eq_ignore_ascii_case("known"),
            name: e.vulnerability_name,
            cve: e.cve_id,
        })
        .collect();
    out.sort_by(|a, b| a.cve.cmp(&b.cve));
    out.dedup_by(|a, b| a.cve == b.cve);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn catalogue() {
        let json = br#"{"title":"CISA Catalog","count":2,"vulnerabilities":[
            {"cveID":"CVE-2024-3094","vendorProject":"XZ","product":"XZ Utils","vulnerabilityName":"XZ Utils Embedded Malicious Code","dateAdded":"2024-04-01","knownRansomwareCampaignUse":"Unknown"},
            {"cveID":"CVE-2023-4863","vulnerabilityName":"Google Chromium WebP Heap-Based Buffer Overflow","dateAdded":"2023-09-13","knownRansomwareCampaignUse":"Known"}]}"#;
        let got = super::parse(json, "kev").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].cve, "CVE-2023-4863");
        assert!(got[0].ransomware);
        assert_eq!(got[1].added_ms, Some(1_711_929_600_000));
        assert!(super::parse(b"{}", "kev").unwrap_err().to_string().contains("vulnerabilities"));
    }
}
