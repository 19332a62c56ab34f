//! The command line end to end, as an operator would use it: keys, a CA hierarchy, genesis, a
//! local ledger, reports and updates; and bad input that must fail with one line on stderr, exit
//! code 2, and no change on disk.
// Scenario tests read top to bottom as one story each; splitting them would hide the story.
#![allow(clippy::too_many_lines)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn epichain(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_epichain"))
        .args(args)
        .output()
        .expect("run epichain")
}

fn ok(args: &[&str]) -> String {
    let output = epichain(args);
    assert!(
        output.status.success(),
        "epichain {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs a command that must fail as bad input; returns its one stderr line.
fn bad_input(args: &[&str]) -> String {
    let output = epichain(args);
    assert_eq!(
        output.status.code(),
        Some(2),
        "epichain {args:?}: {output:?}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "more than one line: {stderr}"
    );
    stderr
}

struct Setup {
    _directory: tempfile::TempDir,
    root: PathBuf,
}

impl Setup {
    fn path(&self, name: &str) -> String {
        self.root.join(name).display().to_string()
    }
}

/// keys → root CA → Guangdong CA → Shenzhen CA → hospital, lab; genesis; ledger; enrolments.
fn setup() -> Setup {
    let directory = tempfile::tempdir().expect("temp dir");
    let root = directory.path().to_path_buf();
    let s = Setup {
        _directory: directory,
        root,
    };
    let p = |name: &str| s.path(name);
    ok(&[
        "ca",
        "init",
        "--key",
        &p("root.key"),
        "--out",
        &p("root.pem"),
    ]);
    for name in ["gd", "sz", "hospital", "lab", "cdc"] {
        ok(&["keys", "gen", "--out", &p(&format!("{name}.key"))]);
    }
    ok(&[
        "ca",
        "issue",
        "--ca-cert",
        &p("root.pem"),
        "--ca-key",
        &p("root.key"),
        "--role",
        "ca",
        "--region",
        "440000",
        "--institution",
        "guangdong-ca",
        "--subject-key",
        &p("gd.key"),
        "--out",
        &p("gd.pem"),
    ]);
    ok(&[
        "ca",
        "issue",
        "--ca-cert",
        &p("gd.pem"),
        "--ca-key",
        &p("gd.key"),
        "--role",
        "ca",
        "--region",
        "440300",
        "--institution",
        "shenzhen-ca",
        "--subject-key",
        &p("sz.key"),
        "--out",
        &p("sz.pem"),
    ]);
    for (name, role, region) in [
        ("hospital", "hospital", "440304"),
        ("lab", "lab", "440300"),
        ("cdc", "authority", "440304"),
    ] {
        ok(&[
            "ca",
            "issue",
            "--ca-cert",
            &p("sz.pem"),
            "--ca-key",
            &p("sz.key"),
            "--role",
            role,
            "--region",
            region,
            "--institution",
            name,
            "--subject-key",
            &p(&format!("{name}.key")),
            "--out",
            &p(&format!("{name}.pem")),
        ]);
    }
    ok(&[
        "genesis",
        "init",
        "--out",
        &p("net"),
        "--root-cert",
        &p("root.pem"),
        "--approver",
        &format!("china-cdc={}", p("cdc.key")),
    ]);
    ok(&[
        "ledger",
        "init",
        "--genesis",
        &p("net/genesis.json"),
        "--data",
        &p("data"),
    ]);
    for name in ["hospital", "lab", "cdc"] {
        ok(&[
            "ledger",
            "enroll",
            "--data",
            &p("data"),
            "--key",
            &p(&format!("{name}.key")),
            "--cert",
            &p(&format!("{name}.pem")),
        ]);
    }
    s
}

fn status(s: &Setup) -> String {
    ok(&["ledger", "status", "--data", &s.path("data")])
}

fn report_args<'a>(
    s: &'a Setup,
    key: &'a str,
    disease: &'a str,
    region: &'a str,
    extra: &[&'a str],
) -> Vec<String> {
    let mut args: Vec<String> = [
        "ledger",
        "report",
        "--data",
        &s.path("data"),
        "--key",
        &s.path(key),
        "--disease",
        disease,
        "--region",
        region,
        "--onset",
        "2026-11-20",
        "--age",
        "34",
        "--sex",
        "female",
        "--pseudonym",
        "5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e",
    ]
    .iter()
    .map(|text| text.to_string())
    .collect();
    args.extend(extra.iter().map(|text| text.to_string()));
    args
}

fn run_strings(args: &[String]) -> Output {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    epichain(&refs)
}

#[test]
fn operator_workflow_and_bad_input() {
    let s = setup();
    // A good report, saved so that it can be replayed.
    let args = report_args(
        &s,
        "hospital.key",
        "DENGUE",
        "440304",
        &["--save-tx", &s.path("tx.hex")],
    );
    let output = run_strings(&args);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let case_id = stdout
        .lines()
        .find_map(|line| line.strip_prefix("case "))
        .expect("case id printed")
        .to_string();
    let before = status(&s);

    // Each bad input: exit 2, one line, nothing written.
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            report_args(&s, "hospital.key", "DENGUE", "449999", &[]),
            "unknown region",
        ),
        (
            report_args(&s, "hospital.key", "NOT_A_DISEASE", "440304", &[]),
            "unknown disease",
        ),
        (
            report_args(&s, "hospital.key", "dengue", "440304", &[]),
            "disease code",
        ),
        (
            report_args(&s, "hospital.key", "DENGUE", "4403", &[]),
            "six digits",
        ),
        (
            report_args(&s, "lab.key", "DENGUE", "440304", &[]),
            "role_not_permitted",
        ),
        (
            report_args(&s, "hospital.key", "DENGUE", "440104", &[]),
            "outside_jurisdiction",
        ),
        (
            vec![
                "ledger".into(),
                "submit".into(),
                "--data".into(),
                s.path("data"),
                s.path("tx.hex"),
            ],
            "stale_nonce",
        ),
        // Review H4: no site computes a pseudonym by itself; only the scope's CDC evaluates.
        (
            {
                let mut args = report_args(&s, "hospital.key", "DENGUE", "440304", &[]);
                let at = args.len() - 2;
                args.splice(
                    at..,
                    ["--national-id".to_string(), "11010519491231002X".into()],
                );
                args
            },
            "needs the network",
        ),
    ];
    for (args, expected) in cases {
        let output = run_strings(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(expected),
            "{args:?}: expected {expected:?} in {stderr}"
        );
        assert_eq!(status(&s), before, "{args:?} changed the ledger");
    }

    // A tampered signature.
    let hex = std::fs::read_to_string(s.path("tx.hex")).expect("tx");
    let mut bytes = hex::decode(hex.trim()).expect("hex");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(s.path("bad.hex"), hex::encode(bytes)).expect("write");
    let line = bad_input(&[
        "ledger",
        "submit",
        "--data",
        &s.path("data"),
        &s.path("bad.hex"),
    ]);
    assert!(line.contains("bad_signature"), "{line}");
    // Malformed files.
    std::fs::write(s.path("junk"), "not a transaction").expect("write");
    bad_input(&[
        "ledger",
        "submit",
        "--data",
        &s.path("data"),
        &s.path("junk"),
    ]);
    bad_input(&[
        "ledger",
        "enroll",
        "--data",
        &s.path("data"),
        "--key",
        &s.path("hospital.key"),
        "--cert",
        &s.path("junk"),
    ]);
    bad_input(&["ledger", "status", "--data", &s.path("nowhere")]);
    bad_input(&["keys", "show", &s.path("junk")]);
    assert_eq!(status(&s), before);

    // The lab confirms; the district CDC closes; the history shows three versions.
    ok(&[
        "ledger",
        "update",
        "--data",
        &s.path("data"),
        "--key",
        &s.path("lab.key"),
        "--case",
        &case_id,
        "--status",
        "lab-confirmed",
    ]);
    let line = bad_input(&[
        "ledger",
        "update",
        "--data",
        &s.path("data"),
        "--key",
        &s.path("hospital.key"),
        "--case",
        &case_id,
        "--status",
        "excluded",
    ]);
    assert!(line.contains("role_not_permitted"), "{line}");
    ok(&[
        "ledger",
        "update",
        "--data",
        &s.path("data"),
        "--key",
        &s.path("cdc.key"),
        "--case",
        &case_id,
        "--close",
    ]);
    let shown = ok(&["ledger", "case", "--data", &s.path("data"), &case_id]);
    let document: serde_json::Value = serde_json::from_str(&shown).expect("json");
    assert_eq!(document["history"].as_array().map(Vec::len), Some(3));
    assert_eq!(document["hash_chain"], "unbroken");
    assert_eq!(document["record"]["state"]["status"], "lab-confirmed");
    assert_eq!(document["record"]["state"]["closed"], true);

    // Revocation: the CDC revokes the hospital, which can then report nothing.
    ok(&[
        "ledger",
        "revoke",
        "--data",
        &s.path("data"),
        "--key",
        &s.path("cdc.key"),
        "--target",
        &s.path("hospital.key"),
        "--reason",
        "key-compromise",
    ]);
    let output = run_strings(&report_args(&s, "hospital.key", "DENGUE", "440304", &[]));
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("revoked_signer"));
}

#[test]
fn certificate_authority_refuses_bad_requests() {
    let s = setup();
    let p = |name: &str| s.path(name);
    ok(&["keys", "gen", "--out", &p("x.key")]);
    // Outside the CA's region.
    let line = bad_input(&[
        "ca",
        "issue",
        "--ca-cert",
        &p("sz.pem"),
        "--ca-key",
        &p("sz.key"),
        "--role",
        "hospital",
        "--region",
        "440104",
        "--institution",
        "x-org",
        "--subject-key",
        &p("x.key"),
        "--out",
        &p("x.pem"),
    ]);
    assert!(line.contains("cannot certify"), "{line}");
    // Unknown role and region.
    bad_input(&[
        "ca",
        "issue",
        "--ca-cert",
        &p("sz.pem"),
        "--ca-key",
        &p("sz.key"),
        "--role",
        "admin",
        "--region",
        "440304",
        "--institution",
        "x-org",
        "--subject-key",
        &p("x.key"),
        "--out",
        &p("x.pem"),
    ]);
    bad_input(&[
        "ca",
        "issue",
        "--ca-cert",
        &p("sz.pem"),
        "--ca-key",
        &p("sz.key"),
        "--role",
        "doctor",
        "--region",
        "440399",
        "--institution",
        "x-org",
        "--subject-key",
        &p("x.key"),
        "--out",
        &p("x.pem"),
    ]);
    // The wrong key for the CA certificate.
    bad_input(&[
        "ca",
        "issue",
        "--ca-cert",
        &p("sz.pem"),
        "--ca-key",
        &p("gd.key"),
        "--role",
        "doctor",
        "--region",
        "440304",
        "--institution",
        "x-org",
        "--subject-key",
        &p("x.key"),
        "--out",
        &p("x.pem"),
    ]);
    assert!(!Path::new(&p("x.pem")).exists());
    // Keys are never overwritten.
    bad_input(&["keys", "gen", "--out", &p("x.key")]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(p("x.key"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        vec!["--help"],
        vec!["keys", "--help"],
        vec!["keys", "gen", "--help"],
        vec!["ca", "issue", "--help"],
        vec!["genesis", "init", "--help"],
        vec!["ledger", "report", "--help"],
        vec!["ledger", "update", "--help"],
        vec!["demo", "--help"],
        vec!["bench", "ledger", "--help"],
    ] {
        let output = epichain(&args);
        assert!(output.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&output.stdout).contains("Usage"));
    }
}

#[test]
fn demo_shows_counts_history_and_state_root() {
    let directory = tempfile::tempdir().expect("temp dir");
    let out = ok(&["demo", "--dir", &directory.path().display().to_string()]);
    assert!(out.contains("Cases by district and disease"));
    assert!(out.contains("440000  province  Guangdong Province"));
    assert!(out.contains("hash chain: unbroken"));
    assert!(out.contains("state root recomputed from the stored tree: matches"));
    assert!(out.contains("outside_jurisdiction"));
    assert!(out.contains("stale_nonce"));
    // The demo's directory is a ledger directory the other commands can use.
    let status = ok(&[
        "ledger",
        "status",
        "--data",
        &directory.path().display().to_string(),
    ]);
    assert!(status.contains("height     30"), "{status}");
}
