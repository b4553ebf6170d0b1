//! dnsmasq as the contact center's name server: SRV and address records for the trunk, on a
//! loopback port of its own, answering only what the test gave it (no upstream, no hosts file).

use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Dns {
    pub addr: SocketAddr,
    child: Child,
}

/// An SRV record: `name` (`_sip._udp.trunk.test`) served by `target`:`port`.
pub struct Srv<'a> {
    pub name: &'a str,
    pub target: &'a str,
    pub port: u16,
    pub priority: u16,
    pub weight: u16,
}

impl Dns {
    pub fn start(dir: &Path, srv: &[Srv<'_>], hosts: &[(&str, IpAddr)]) -> Self {
        Self::start_on(dir, crate::net::free_port(), srv, hosts)
    }

    /// On a given port: the same name server with other records (the trunk moved).
    pub fn start_on(dir: &Path, port: u16, srv: &[Srv<'_>], hosts: &[(&str, IpAddr)]) -> Self {
        let binary = crate::require("dnsmasq", "dnsmasq-base");
        std::fs::create_dir_all(dir).expect("dns dir");
        let mut args = vec![
            "--keep-in-foreground".to_owned(),
            "--conf-file=/dev/null".to_owned(),
            "--no-resolv".to_owned(),
            "--no-hosts".to_owned(),
            "--bind-interfaces".to_owned(),
            "--listen-address=127.0.0.1".to_owned(),
            format!("--port={port}"),
            format!("--pid-file={}", dir.join("dnsmasq.pid").display()),
            "--log-queries".to_owned(),
            "--log-facility=-".to_owned(),
        ];
        for r in srv {
            args.push(format!(
                "--srv-host={},{},{},{},{}",
                r.name, r.target, r.port, r.priority, r.weight
            ));
        }
        for (name, ip) in hosts {
            args.push(format!("--host-record={name},{ip}"));
        }
        let log = std::fs::File::create(dir.join("dnsmasq.log")).expect("dnsmasq log");
        let child = Command::new(binary)
            .args(&args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start dnsmasq");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let dns = Self { addr, child };
        // It serves TCP as well as UDP: a connection means it is listening.
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "dnsmasq did not start; see {}",
                dir.join("dnsmasq.log").display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        dns
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
