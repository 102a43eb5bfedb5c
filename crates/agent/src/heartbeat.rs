//! The heartbeat's content: what the agent tells the control plane about the machine in
//! `UpdateInstanceInformation`.
//!
//! Facts are read once at start (`Platform::detect`): the distribution's `NAME` and
//! `VERSION_ID` from `/etc/os-release`, the host name from the kernel, and an IPv4 address:
//! the one the machine would use to reach the control plane (its route, found without
//! sending anything), else the one it would use for the default route (a control plane on
//! loopback says nothing about the machine's address), else the first local address the
//! kernel lists. Loopback and link-local addresses are never reported (the agent itself puts
//! 169.254.170.2, the task credentials address, on `lo`): without another address the
//! heartbeat leaves `IPAddress` out. Nothing here fails: a fact that cannot be read is
//! reported as unknown.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};

use crate::api::InstanceInformation;

/// The machine as a heartbeat reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub name: String,
    pub version: String,
    pub hostname: String,
    /// `None`: no address but loopback and link-local ones.
    pub ip_address: Option<Ipv4Addr>,
}

impl Platform {
    /// Reads the facts of this machine; `control_plane` is the endpoint's `HOST:PORT`.
    pub fn detect(control_plane: &str) -> Platform {
        let os_release = std::fs::read_to_string("/etc/os-release")
            .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
            .unwrap_or_default();
        let (name, version) = parse_os_release(&os_release);
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .map(|text| text.trim().to_owned())
            .ok()
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "localhost".to_owned());
        let ip_address = route_source(control_plane).or_else(|| route_source(DEFAULT_ROUTE_PROBE)).or_else(|| {
            let fib = std::fs::read_to_string("/proc/net/fib_trie").unwrap_or_default();
            first_local_ipv4(&fib)
        });
        Platform { name, version, hostname, ip_address }
    }

    /// The heartbeat's body for `instance_id`.
    pub fn information(&self, instance_id: &str) -> InstanceInformation {
        InstanceInformation {
            instance_id: instance_id.to_owned(),
            agent_name: crate::AGENT_NAME.to_owned(),
            agent_version: crate::AGENT_VERSION.to_owned(),
            platform_name: self.name.clone(),
            platform_type: "Linux".to_owned(),
            platform_version: self.version.clone(),
            ip_address: self.ip_address.map(|address| address.to_string()).unwrap_or_default(),
            computer_name: self.hostname.clone(),
            agent_status: "Active".to_owned(),
        }
    }
}

/// `NAME` and `VERSION_ID` of an os-release file (quotes removed); `Linux` and an empty
/// version when absent.
pub fn parse_os_release(text: &str) -> (String, String) {
    let value = |key: &str| {
        text.lines().find_map(|line| {
            let (name, value) = line.trim().split_once('=')?;
            (name == key).then(|| value.trim().trim_matches(['"', '\'']).to_owned())
        })
    };
    (value("NAME").unwrap_or_else(|| "Linux".to_owned()), value("VERSION_ID").unwrap_or_default())
}

/// An address outside the machine (TEST-NET-3, never sent to) whose route is the default one.
const DEFAULT_ROUTE_PROBE: &str = "203.0.113.1:9";

/// Whether an address says where the machine is: not loopback, link-local or unspecified.
pub fn reportable(address: Ipv4Addr) -> bool {
    !address.is_loopback() && !address.is_link_local() && !address.is_unspecified()
}

/// The local IPv4 address the kernel would send from to reach `host_port` (a connected UDP
/// socket sends nothing), if it is reportable. A host name is resolved first.
fn route_source(host_port: &str) -> Option<Ipv4Addr> {
    use std::net::ToSocketAddrs;
    let target = host_port.to_socket_addrs().ok()?.find(std::net::SocketAddr::is_ipv4)?;
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    socket.connect(target).ok()?;
    match socket.local_addr().ok()?.ip() {
        IpAddr::V4(address) if reportable(address) => Some(address),
        _ => None,
    }
}

/// The first address `/proc/net/fib_trie` lists as a local host address (`/32 host LOCAL`)
/// that is reportable.
pub fn first_local_ipv4(fib_trie: &str) -> Option<Ipv4Addr> {
    let mut last_leaf: Option<Ipv4Addr> = None;
    for line in fib_trie.lines() {
        let line = line.trim();
        if let Some(address) = line.strip_prefix("|-- ") {
            last_leaf = address.trim().parse().ok();
        } else if line.starts_with("/32 host LOCAL") {
            if let Some(address) = last_leaf.filter(|address| reportable(*address)) {
                return Some(address);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn os_release() {
        let debian =
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n";
        assert_eq!(parse_os_release(debian), ("Debian GNU/Linux".to_owned(), "12".to_owned()));
        assert_eq!(parse_os_release("NAME=Alpine\nVERSION_ID=3.20.1"), ("Alpine".to_owned(), "3.20.1".to_owned()));
        assert_eq!(parse_os_release(""), ("Linux".to_owned(), String::new()));
    }

    #[test]
    fn the_first_non_loopback_local_address() {
        let fib = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n\
                   \x20    +-- 127.0.0.0/8 2 0 2\n        |-- 127.0.0.1\n           /32 host LOCAL\n\
                   \x20    |-- 10.0.0.0\n        /24 link UNICAST\n     |-- 10.0.0.7\n        /32 host LOCAL\n\
                   \x20    |-- 172.17.0.1\n        /32 host LOCAL\n";
        assert_eq!(first_local_ipv4(fib), Some(Ipv4Addr::new(10, 0, 0, 7)));
        assert_eq!(first_local_ipv4("|-- 127.0.0.1\n /32 host LOCAL\n"), None);
        // The task credentials address the agent puts on `lo` sorts first, and is skipped.
        let with_credentials_address = format!("     |-- 169.254.170.2\n        /32 host LOCAL\n{fib}");
        assert_eq!(first_local_ipv4(&with_credentials_address), Some(Ipv4Addr::new(10, 0, 0, 7)));
        assert_eq!(first_local_ipv4("|-- 169.254.170.2\n /32 host LOCAL\n"), None);
    }

    #[test]
    fn detection_always_gives_an_answer() {
        let platform = Platform::detect("127.0.0.1:9");
        assert!(!platform.hostname.is_empty());
        // A control plane on loopback: the machine's own address, never loopback or link-local.
        assert!(platform.ip_address.is_none_or(reportable), "{:?}", platform.ip_address);
        for address in [Ipv4Addr::LOCALHOST, Ipv4Addr::new(169, 254, 170, 2), Ipv4Addr::UNSPECIFIED] {
            assert!(!reportable(address), "{address}");
        }
        assert!(reportable(Ipv4Addr::new(192, 0, 2, 2)));
        let information = platform.information("mi-0123456789abcdef0");
        assert_eq!(information.platform_type, "Linux");
        assert_eq!(information.agent_name, "homeport-agent");
    }
}
