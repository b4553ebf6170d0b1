//! The HTTP CRM connector against servers on loopback: a local HTTP server that answers as the
//! test says (and keeps what it was sent), and openssl's own HTTPS server for certificates.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_desk::crm::{CrmAnswer, CrmConfig, CrmConnector, CrmError, FieldMap};
use switchboard_testkit::http::{HttpServer, Response};
use switchboard_testkit::tls::TestCa;

const SAM: &str = "+14155550187";

fn config(url_template: String) -> CrmConfig {
    CrmConfig {
        name: "Acme CRM".into(),
        url_template,
        headers: vec![("Authorization".into(), "Bearer crm-test-token".into())],
        timeout: Duration::from_millis(500),
        cache_for: Duration::from_secs(60),
        fields: FieldMap {
            name: "/customer/name".into(),
            account: Some("/customer/account".into()),
            tier: Some("/customer/tier".into()),
            record_url: Some("/customer/link".into()),
            open_cases: Some("/customer/cases".into()),
            case_id: "/id".into(),
            case_title: "/title".into(),
        },
        ca_file: None,
    }
}

fn sam() -> serde_json::Value {
    json!({"customer": {"name": "Sam Ortiz", "account": "AC-2001", "tier": "Gold",
        "link": "https://crm.invalid/customers/AC-2001",
        "cases": [{"id": "CASE-7", "title": "Router drops calls"}]}})
}

#[tokio::test]
async fn a_known_number_is_fetched_once_then_served_from_the_cache() {
    let server = HttpServer::start(|request| {
        if request.target == "/api/customers?phone=%2B14155550187" {
            Response::json(200, &sam())
        } else {
            Response::json(404, &json!({"error": "no such customer"}))
        }
    });
    let crm = CrmConnector::new(config(server.url("/api/customers?phone={phone}"))).expect("crm");
    let CrmAnswer::Found(record) = crm.look_up(SAM).await.expect("answer") else {
        panic!("Sam is known");
    };
    assert_eq!(
        (record.name.as_str(), record.tier.as_str()),
        ("Sam Ortiz", "Gold")
    );
    assert_eq!(record.open_cases[0].id, "CASE-7");
    assert_eq!(record.source, "Acme CRM");
    let again = crm.look_up(SAM).await.expect("cached");
    assert!(matches!(again, CrmAnswer::Found(_)));
    assert_eq!(crm.look_up("+14155550100").await, Ok(CrmAnswer::Unknown));

    let requests = server.requests();
    assert_eq!(
        requests.len(),
        2,
        "the second lookup of Sam came from the cache"
    );
    assert_eq!(requests[0].method, "GET");
    assert_eq!(
        requests[0].header("authorization"),
        Some("Bearer crm-test-token")
    );
    assert_eq!(requests[0].header("accept"), Some("application/json"));
}

#[tokio::test]
async fn failures_are_told_apart_and_not_cached() {
    let server = HttpServer::start(|request| match request.target.as_str() {
        "/c/%2B1" => Response::json(500, &json!({"error": "db down"})),
        "/c/%2B2" => Response::json(200, &sam()).after(Duration::from_secs(2)),
        "/c/%2B3" => Response {
            body: b"<html>login</html>".to_vec(),
            ..Response::json(200, &json!({}))
        },
        _ => Response::json(302, &json!({})),
    });
    let crm = CrmConnector::new(config(server.url("/c/{phone}"))).expect("crm");
    assert_eq!(crm.look_up("+1").await, Err(CrmError::Status(500)));
    assert_eq!(crm.look_up("+1").await, Err(CrmError::Status(500)));
    let started = Instant::now();
    assert_eq!(crm.look_up("+2").await, Err(CrmError::Timeout(500)));
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "the timeout holds"
    );
    assert!(matches!(crm.look_up("+3").await, Err(CrmError::NotJson(_))));
    assert_eq!(
        crm.look_up("+4").await,
        Err(CrmError::Status(302)),
        "redirects are not followed"
    );
    assert_eq!(server.requests().len(), 5, "failures are asked again");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let nobody =
        CrmConnector::new(config(format!("http://127.0.0.1:{port}/{{phone}}"))).expect("crm");
    assert!(matches!(
        nobody.look_up(SAM).await,
        Err(CrmError::Unreachable(_))
    ));
}

/// openssl's HTTPS server, serving files from `dir` (`-WWW`).
struct HttpsFiles {
    child: Child,
    port: u16,
}

impl HttpsFiles {
    fn start(dir: &std::path::Path, cert: &std::path::Path, key: &std::path::Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-WWW", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(cert)
            .arg("-key")
            .arg(key)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server");
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "s_server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port }
    }
}

impl Drop for HttpsFiles {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn https_needs_a_certificate_the_agent_trusts() {
    let out = switchboard_testkit::output::dir("crm_https");
    let ca = TestCa::create(&out.join("ca"), "crm-ca");
    let files = ca.issue("crm", &["IP:127.0.0.1", "DNS:localhost"]);
    let www = out.join("www");
    std::fs::create_dir_all(www.join("c")).expect("dir");
    std::fs::write(www.join("c/%2B14155550187.json"), sam().to_string()).expect("record");
    let server = HttpsFiles::start(&www, &files.certificate, &files.key);
    let template = format!("https://localhost:{}/c/{{phone}}.json", server.port);

    let mut trusted = config(template.clone());
    trusted.ca_file = Some(ca.certificate.clone());
    let crm = CrmConnector::new(trusted).expect("crm");
    assert!(matches!(crm.look_up(SAM).await, Ok(CrmAnswer::Found(r)) if r.name == "Sam Ortiz"));

    let stranger = CrmConnector::new(config(template)).expect("crm");
    match stranger.look_up(SAM).await {
        Err(CrmError::Unreachable(why)) => {
            assert!(why.to_lowercase().contains("certificate"), "{why}")
        }
        other => panic!("a certificate from an unknown authority was accepted: {other:?}"),
    }
}
