//! Test certificates, made with the openssl command: a certificate authority of the test's
//! own and trunk certificates it signs. A second authority stands for a stranger whose
//! certificates the agent must refuse.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::kamailio::TlsFiles;

pub struct TestCa {
    dir: PathBuf,
    /// The authority's certificate (PEM): what the agent is told to trust.
    pub certificate: PathBuf,
    key: PathBuf,
}

impl TestCa {
    pub fn create(dir: &Path, name: &str) -> Self {
        crate::require("openssl", "openssl");
        std::fs::create_dir_all(dir).expect("certificate dir");
        let certificate = dir.join(format!("{name}.pem"));
        let key = dir.join(format!("{name}.key"));
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            path(&key),
            "-out",
            path(&certificate),
        ]);
        Self {
            dir: dir.to_owned(),
            certificate,
            key,
        }
    }

    /// A server certificate for `names` (subjectAltName entries: `DNS:trunk.test`,
    /// `IP:127.0.0.1`), signed by this authority.
    pub fn issue(&self, stem: &str, names: &[&str]) -> TlsFiles {
        let key = self.dir.join(format!("{stem}.key"));
        let request = self.dir.join(format!("{stem}.csr"));
        let certificate = self.dir.join(format!("{stem}.pem"));
        let extensions = self.dir.join(format!("{stem}.ext"));
        std::fs::write(
            &extensions,
            format!(
                "subjectAltName={}\nbasicConstraints=CA:FALSE\n\
                 keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
                names.join(",")
            ),
        )
        .expect("write extensions");
        openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            &format!("/CN={stem}"),
            "-keyout",
            path(&key),
            "-out",
            path(&request),
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            path(&request),
            "-CA",
            path(&self.certificate),
            "-CAkey",
            path(&self.key),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            path(&extensions),
            "-out",
            path(&certificate),
        ]);
        TlsFiles { certificate, key }
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {} failed: {}",
        args.first().unwrap_or(&""),
        String::from_utf8_lossy(&out.stderr)
    );
}
