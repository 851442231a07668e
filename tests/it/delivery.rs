//! Subscribers and `send` against a real SMTP server (aiosmtpd) on 127.0.0.1.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::common::{Run, Scratch, boletin, manifest_dir, qp_decode_bytes};

pub const SECRET: &str = "test secret for boletin, not for production";

/// `tests/smtp_server.py`, started on a free port and killed when dropped.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    pub maildir: PathBuf,
}

impl SmtpServer {
    pub fn start(dir: &Path, defer_times: u32, delay_secs: f64) -> SmtpServer {
        SmtpServer::start_with(
            dir,
            &[
                "--defer-times",
                &defer_times.to_string(),
                "--delay",
                &delay_secs.to_string(),
            ],
        )
    }

    pub fn start_with(dir: &Path, args: &[&str]) -> SmtpServer {
        let maildir = dir.join("maildir");
        let mut child = Command::new("python3")
            .arg(manifest_dir().join("tests/smtp_server.py"))
            .arg("--maildir")
            .arg(&maildir)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 (run .ci/install for aiosmtpd)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read port");
        let port = match line.trim().parse() {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                let out = child.wait_with_output().expect("smtp server output");
                panic!(
                    "the SMTP server did not start (is aiosmtpd installed? see .ci/install): {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        };
        SmtpServer {
            child,
            port,
            maildir,
        }
    }

    /// Every stored message as (envelope recipient, raw text).
    pub fn messages(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return out;
        };
        let mut names: Vec<_> = entries.map(|e| e.expect("entry").path()).collect();
        names.sort();
        for path in names {
            let name = path
                .file_stem()
                .expect("name")
                .to_string_lossy()
                .to_string();
            let rcpt = name.split_once('-').expect("n-rcpt").1.to_string();
            out.push((rcpt, std::fs::read_to_string(&path).expect("read message")));
        }
        out
    }

    pub fn count(&self) -> usize {
        std::fs::read_dir(self.maildir.join("new")).map_or(0, |d| d.count())
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs boletin in the scratch folder with the test secret in the environment.
pub fn run(s: &Scratch, args: &[&str]) -> Run {
    Run::from(command(s, args).output().expect("run boletin"))
}

pub fn command(s: &Scratch, args: &[&str]) -> Command {
    let mut cmd = boletin();
    cmd.current_dir(s.path())
        .env("BOLETIN_SECRET", SECRET)
        .arg("--config")
        .arg(s.config())
        .args(args);
    cmd
}

/// The demo (fetched), a `[delivery]` table pointing at `smtp_port`, and edition W47 in
/// Spanish and English.
pub fn setup(smtp_port: u16, extra: &str) -> Scratch {
    setup_url(&format!("smtp://127.0.0.1:{smtp_port}"), extra)
}

/// Like [`setup`], with any SMTP URL.
pub fn setup_url(smtp_url: &str, extra: &str) -> Scratch {
    let s = Scratch::demo();
    let mut config = std::fs::read_to_string(s.config()).expect("config");
    config.push_str(&format!(
        "\n[delivery]\nsmtp_url = \"{smtp_url}\"\n\
         unsubscribe_url = \"http://127.0.0.1:8080/unsubscribe\"\n\
         unsubscribe_mailto = \"baja@example.org\"\n\
         list_id = \"boletin.example.org\"\n\
         retry_base_secs = 1\n{extra}"
    ));
    std::fs::write(s.config(), config).expect("write config");
    run(&s, &["fetch"]).ok();
    edition(&s, "2026-W47", 47, "2026-11-21");
    s
}

/// Edition `id` as an editor gets it: `boletin draft` for the two weeks up to `date`,
/// then made bilingual, numbered and given a subject per language by hand.
pub fn edition(s: &Scratch, id: &str, number: u32, date: &str) -> String {
    let path = format!("editions/{id}.toml");
    run(
        s,
        &[
            "--quiet", "draft", "--since", "14d", "--now", date, "--out", &path,
        ],
    )
    .ok();
    let text = std::fs::read_to_string(s.path().join(&path)).expect("draft wrote the edition");
    assert!(text.contains(&format!("week = \"{id}\"")), "{text}");
    let edited: String = text
        .lines()
        .map(|l| {
            if l.starts_with("language = ") {
                "language = [\"es\", \"en\"]".to_string()
            } else if l.starts_with("number = ") {
                format!("number = {number}")
            } else if l.starts_with("subject = ") {
                format!(
                    "subject = {{ es = \"Boletín n.º {number}: acciones urgentes en Oaxaca y Chiapas\", \
                     en = \"Newsletter No. {number}: urgent actions in Oaxaca and Chiapas\" }}"
                )
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect();
    s.write(&path, &edited);
    path
}

/// A temp folder, an SMTP server in it, and the demo set up to send through it.
pub fn world(
    defer_times: u32,
    delay_secs: f64,
    extra: &str,
) -> (tempfile::TempDir, SmtpServer, Scratch) {
    let tmp = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(tmp.path(), defer_times, delay_secs);
    let s = setup(smtp.port, extra);
    (tmp, smtp, s)
}

/// `n` subscribers, every fourth one reading English; plus `extra` addresses.
pub fn import(s: &Scratch, n: usize, extra: &[&str]) -> Vec<String> {
    let mut csv = String::from("email,name,language\n");
    let mut emails = Vec::new();
    let names = [
        "María José Pérez",
        "Ana Sofía Núñez",
        "Jesús Gómez",
        "Mary O'Neil",
    ];
    for i in 0..n {
        let email = format!("lector{i:03}@example.org");
        let lang = if i % 4 == 3 { "en" } else { "es" };
        csv.push_str(&format!("{email},\"{} {i}\",{lang}\n", names[i % 4]));
        emails.push(email);
    }
    for e in extra {
        csv.push_str(&format!("{e},Prueba,es\n"));
        emails.push(e.to_string());
    }
    s.write("subscribers.csv", &csv);
    run(s, &["subscribers", "import", "subscribers.csv"]).ok();
    emails
}

/// A header's value (unfolded), from the header section only.
pub fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next().unwrap_or(raw);
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

/// The body with quoted-printable soft breaks and escapes undone (good enough for ASCII URLs).
pub fn qp_decoded(raw: &str) -> String {
    String::from_utf8_lossy(&qp_decode_bytes(raw)).into_owned()
}

fn per_recipient(messages: &[(String, String)]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for (rcpt, _) in messages {
        *m.entry(rcpt.clone()).or_default() += 1;
    }
    m
}

#[test]
fn import_reports_bad_rows_with_line_numbers_and_never_imports_twice() {
    let s = Scratch::demo();
    s.write(
        "lista.csv",
        "email,name,language\n\
         ana@example.org,\"Núñez, Ana\",es\n\
         esto-no-es-un-correo,Juan,es\n\
         john@example.org,John,en\n\
         maria@example.org,María,fr\n\
         ANA@example.org,Ana otra vez,es\n",
    );
    let r = run(&s, &["--json", "subscribers", "import", "lista.csv"]);
    assert_eq!(r.code, 1, "bad rows give exit 1: {}", r.stderr);
    let j = r.json();
    assert_eq!(j["added"], 2);
    let lines: Vec<u64> = j["bad_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [3, 5]);
    assert_eq!(j["duplicates"][0]["line"], 6);

    // Plain output names the file and line.
    let r = run(&s, &["subscribers", "import", "lista.csv"]);
    assert!(r.stderr.contains("lista.csv:3: "), "{}", r.stderr);
    assert!(
        r.stdout.contains("0 added, 2 already subscribed"),
        "{}",
        r.stdout
    );

    // Removed addresses stay suppressed and are reported, not re-imported.
    run(&s, &["subscribers", "remove", "ana@example.org"]).ok();
    let r = run(&s, &["--json", "subscribers", "import", "lista.csv"]);
    let j = r.json();
    assert_eq!(j["added"], 0);
    assert!(
        j["suppressed"][0]["message"]
            .as_str()
            .unwrap()
            .contains("unsubscribed"),
        "{j}"
    );
    let c = run(&s, &["--json", "subscribers", "count"]).ok().json();
    assert_eq!(
        (c["active"].as_u64(), c["unsubscribed"].as_u64()),
        (Some(1), Some(1))
    );
    let list = run(&s, &["subscribers", "list"]).ok();
    assert!(list.stdout.contains("ana@example.org"), "{}", list.stdout);
    assert!(list.stdout.contains("unsubscribed"), "{}", list.stdout);
}

#[test]
fn an_address_unsubscribed_in_capitals_is_not_reimported_in_lower_case() {
    let s = Scratch::demo();
    s.write(
        "primera.csv",
        "correo,nombre,idioma\n\
         JOSÉ.PÉREZ@Ejemplo.org,José Pérez,es\n\
         lucía@ejemplo.org,Lucía,es\n\
         LUCÍA@EJEMPLO.ORG,Lucía otra vez,es\n",
    );
    let j = run(&s, &["--json", "subscribers", "import", "primera.csv"])
        .ok()
        .json();
    assert_eq!(j["added"], 2, "{j}");
    assert_eq!(j["duplicates"][0]["line"], 4, "{j}");
    run(&s, &["subscribers", "remove", "JOSÉ.PÉREZ@ejemplo.org"]).ok();

    // The same person, written the way another spreadsheet writes it.
    s.write(
        "segunda.csv",
        "email,name,language\n\
         josé.pérez@ejemplo.org,José,es\n\
         LUCÍA@ejemplo.org,Lucía,es\n",
    );
    let r = run(&s, &["--json", "subscribers", "import", "segunda.csv"]).ok();
    let j = r.json();
    assert_eq!(
        (j["added"].as_u64(), j["existing"].as_u64()),
        (Some(0), Some(1)),
        "{j}"
    );
    assert_eq!(j["suppressed"][0]["line"], 2, "{j}");
    let c = run(&s, &["--json", "subscribers", "count"]).ok().json();
    assert_eq!(
        (c["active"].as_u64(), c["unsubscribed"].as_u64()),
        (Some(1), Some(1)),
        "{c}"
    );
}

#[test]
fn two_hundred_subscribers_each_get_it_exactly_once_with_list_headers() {
    // Four connections at once: the pool and the journal under contention.
    let (_tmp, smtp, s) = world(0, 0.0, "connections = 4\n");
    let emails = import(&s, 200, &[]);

    let dry = run(
        &s,
        &["--json", "send", "editions/2026-W47.toml", "--dry-run"],
    )
    .ok()
    .json();
    assert_eq!(dry["would_send"], 200);
    assert_eq!(dry["by_language"]["en"], 50);
    assert_eq!(smtp.count(), 0, "a dry run sends nothing");

    let r = run(&s, &["--json", "send", "editions/2026-W47.toml"]).ok();
    let report = r.json();
    assert_eq!(report["sent"], 200, "{report}");
    assert_eq!(report["finished"], true);
    assert_eq!(report["by_language"]["en"], 50);

    let messages = smtp.messages();
    assert_eq!(messages.len(), 200);
    let counts = per_recipient(&messages);
    for e in &emails {
        assert_eq!(counts.get(e), Some(&1), "{e}");
    }
    let mut ids = HashSet::new();
    for (rcpt, raw) in &messages {
        let id = header(raw, "Message-ID").expect("Message-ID");
        assert!(id.starts_with('<') && id.ends_with("@example.org>"), "{id}");
        assert!(ids.insert(id), "Message-IDs are unique");
        assert_eq!(
            header(raw, "List-Id")
                .as_deref()
                .map(|v| v.ends_with("<boletin.example.org>")),
            Some(true)
        );
        let unsub = header(raw, "List-Unsubscribe").expect("List-Unsubscribe");
        assert!(
            unsub.starts_with("<http://127.0.0.1:8080/unsubscribe?token="),
            "{unsub}"
        );
        assert!(
            unsub.ends_with(", <mailto:baja@example.org?subject=unsubscribe>"),
            "{unsub}"
        );
        assert_eq!(
            header(raw, "List-Unsubscribe-Post").as_deref(),
            Some("List-Unsubscribe=One-Click")
        );
        // The footer link is the same personal URL as the header's.
        let url = unsub[1..unsub.find('>').unwrap()].to_string();
        let body = qp_decoded(raw);
        assert!(
            body.contains(&format!("href=\"{url}\"")),
            "{rcpt}: footer link missing"
        );
        let i: usize = rcpt[6..9].parse().unwrap();
        let lang = header(raw, "Content-Language").unwrap();
        assert_eq!(lang, if i % 4 == 3 { "en" } else { "es" }, "{rcpt}");
        if lang == "en" {
            assert!(body.contains("Unsubscribe"), "{rcpt}");
        } else {
            assert!(body.contains("Cancelar suscripci"), "{rcpt}");
        }
    }

    // A finished edition: nothing to do, and it says so.
    let again = run(&s, &["send", "editions/2026-W47.toml"]).ok();
    assert!(
        again.stdout.contains("already sent to everyone"),
        "{}",
        again.stdout
    );
    assert_eq!(smtp.count(), 200);
}

#[test]
fn deferred_are_retried_and_arrive_once_and_bounces_are_suppressed() {
    // 451 twice for defer*@, then accepted; 550 for bounce*@.
    let (_tmp, smtp, s) = world(2, 0.0, "");
    let extra = [
        "defer1@example.org",
        "defer2@example.org",
        "bounce1@example.org",
        "bounce2@example.org",
    ];
    import(&s, 10, &extra);
    let r = run(&s, &["--json", "send", "editions/2026-W47.toml"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j = r.json();
    assert_eq!(j["sent"], 12, "{j}");
    assert_eq!(j["bounced"], 2, "{j}");
    assert_eq!(j["deferred"], 4, "two 451s for each of two addresses: {j}");
    assert_eq!(j["finished"], true);

    let counts = per_recipient(&smtp.messages());
    assert_eq!(counts.get("defer1@example.org"), Some(&1));
    assert_eq!(counts.get("defer2@example.org"), Some(&1));
    assert_eq!(counts.get("bounce1@example.org"), None);
    assert_eq!(counts.len(), 12);

    let status = states(&s);
    assert_eq!(status["bounce1@example.org"], "bounced");
    assert_eq!(status["defer1@example.org"], "active");

    // A bounced address is reported, not re-imported.
    let r = run(&s, &["--json", "subscribers", "import", "subscribers.csv"]).ok();
    let suppressed = r.json()["suppressed"].to_string();
    assert!(
        suppressed.contains("bounce1@example.org bounced"),
        "{suppressed}"
    );
}

#[test]
fn killed_mid_send_then_rerun_reaches_everyone_once_but_the_in_flight_message() {
    // The server stores each message, then waits before its 250: a kill in that window
    // leaves a delivered message the journal still calls pending.
    let (_tmp, smtp, s) = world(0, 0.04, "");
    let emails = import(&s, 60, &[]);

    let mut crashes = 0;
    for stop_at in [15, 35] {
        let mut child = command(&s, &["--quiet", "send", "editions/2026-W47.toml"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait for the mailbox to fill to `stop_at`, then kill -9 (no test clock: the
        // mailbox is the event).
        loop {
            if smtp.count() >= stop_at {
                child.kill().unwrap(); // SIGKILL
                break;
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("send ended before the kill: {status}");
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        child.wait().unwrap();
        crashes += 1;
    }
    let r = run(&s, &["--json", "send", "editions/2026-W47.toml"]).ok();
    let j = r.json();
    assert_eq!(j["finished"], true, "{j}");
    assert!(j["recovered_in_flight"].as_u64().unwrap() <= 1, "{j}");

    let counts = per_recipient(&smtp.messages());
    for e in &emails {
        assert!(counts.get(e).copied().unwrap_or(0) >= 1, "{e} was skipped");
    }
    let total: usize = counts.values().sum();
    let duplicates = total - emails.len();
    println!(
        "kill -9 twice mid-send: {total} messages for 60 subscribers ({duplicates} in flight at a crash)"
    );
    assert!(
        duplicates <= crashes,
        "at most one message in flight per crash (one connection): {duplicates} duplicates"
    );
    let again = run(&s, &["send", "editions/2026-W47.toml"]).ok();
    assert!(again.stdout.contains("nothing to do"), "{}", again.stdout);
}

#[test]
fn dkim_signature_covers_both_unsubscribe_headers_and_verifies() {
    // A freshly generated RSA test key (PKCS#1, as `[delivery.dkim]` documents).
    let keys = tempfile::tempdir().unwrap();
    let pem = keys.path().join("dkim.pem");
    let made = Command::new("openssl")
        .args(["genrsa", "-traditional", "-out"])
        .arg(&pem)
        .arg("2048")
        .output()
        .expect("openssl (bash .ci/install)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let public = Command::new("openssl")
        .args(["rsa", "-pubout", "-outform", "DER", "-in"])
        .arg(&pem)
        .output()
        .unwrap();
    use base64::Engine;
    let public = base64::engine::general_purpose::STANDARD.encode(public.stdout);

    let (_tmp, smtp, s) = world(
        0,
        0.0,
        &format!(
            "[delivery.dkim]\nselector = \"boletin2026\"\nkey_file = \"{}\"\n",
            pem.display()
        ),
    );
    import(&s, 2, &[]);
    run(&s, &["send", "editions/2026-W47.toml"]).ok();
    let messages = smtp.messages();
    assert_eq!(messages.len(), 2);
    let sig = header(&messages[0].1, "DKIM-Signature").expect("signed");
    let sig: String = sig.split_whitespace().collect();
    let h = sig
        .split(';')
        .find_map(|t| t.strip_prefix("h="))
        .expect("h=")
        .to_ascii_lowercase();
    let signed: Vec<&str> = h.split(':').collect();
    for name in [
        "from",
        "subject",
        "list-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
    ] {
        assert!(signed.contains(&name), "{name} not in h={h}");
    }
    assert!(
        sig.contains("d=example.org") && sig.contains("s=boletin2026"),
        "{sig}"
    );

    // And the signature itself holds, checked by an independent implementation (dkimpy).
    let file = keys.path().join("signed.eml");
    std::fs::write(&file, &messages[0].1).unwrap();
    let verdict = Command::new("python3")
        .arg(manifest_dir().join("tests/dkim_verify.py"))
        .arg(&file)
        .arg(&public)
        .output()
        .unwrap();
    assert!(
        verdict.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verdict.stdout),
        String::from_utf8_lossy(&verdict.stderr)
    );
}

#[test]
fn spamassassin_local_rules_score_a_sent_message_at_most_1() {
    if Command::new("spamassassin")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("SKIPPED: spamassassin is not installed (bash .ci/install installs it)");
        return;
    }
    let (tmp, smtp, s) = world(0, 0.0, "");
    import(&s, 4, &[]);
    run(&s, &["send", "editions/2026-W47.toml"]).ok();
    for (rcpt, raw) in smtp.messages().iter().step_by(3) {
        let path = tmp.path().join("check.eml");
        std::fs::write(&path, raw).unwrap();
        let out = Command::new("spamassassin")
            .args(["-t", "-L"])
            .stdin(std::fs::File::open(&path).unwrap())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let status = header(&text.replace('\n', "\r\n"), "X-Spam-Status").expect("X-Spam-Status");
        let score: f64 = status
            .split("score=")
            .nth(1)
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("score");
        println!("spamassassin -t -L: {rcpt}: score {score} ({status})");
        assert!(score <= 1.0, "{rcpt}: {status}");
    }
}

#[test]
fn limit_and_test_sends_leave_the_rest_for_the_next_run() {
    let (_tmp, smtp, s) = world(0, 0.0, "");
    let emails = import(&s, 10, &[]);

    // --test: every language version to the editor; the journal is not touched.
    let r = run(
        &s,
        &[
            "send",
            "editions/2026-W47.toml",
            "--test",
            "editora@example.org",
        ],
    )
    .ok();
    assert_eq!(r.stdout.matches("sent").count(), 2, "{}", r.stdout);
    let dry = run(
        &s,
        &["--json", "send", "editions/2026-W47.toml", "--dry-run"],
    )
    .ok()
    .json();
    assert_eq!(dry["would_send"], 10);

    let r = run(
        &s,
        &[
            "--json",
            "send",
            "editions/2026-W47.toml",
            "--limit",
            "4",
            "--rate",
            "6000/min",
        ],
    )
    .ok();
    let j = r.json();
    assert_eq!(
        (j["sent"].as_u64(), j["finished"].as_bool()),
        (Some(4), Some(false)),
        "{j}"
    );
    let r = run(&s, &["--json", "send", "editions/2026-W47.toml"])
        .ok()
        .json();
    assert_eq!(
        (r["sent"].as_u64(), r["finished"].as_bool()),
        (Some(6), Some(true)),
        "{r}"
    );
    let counts = per_recipient(&smtp.messages());
    assert_eq!(counts.get("editora@example.org"), Some(&2));
    for e in &emails {
        assert_eq!(counts.get(e), Some(&1), "{e}");
    }
}

#[test]
fn an_unreachable_server_stops_the_run_and_skips_nobody() {
    let tmp = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(tmp.path(), 0, 0.0);
    let port = smtp.port;
    drop(smtp);
    let s = setup(port, "");
    let emails = import(&s, 5, &[]);
    let r = run(&s, &["--json", "send", "editions/2026-W47.toml"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("cannot connect"), "{}", r.stderr);
    let j = r.json();
    assert_eq!(j["journal"]["queued"], 5, "{j}");

    let mut smtp = None;
    for _ in 0..50 {
        // The port was free a moment ago; take it again for the retry.
        let try_dir = tmp.path().join("again");
        let out = Command::new("python3")
            .arg(manifest_dir().join("tests/smtp_server.py"))
            .args([
                "--maildir",
                try_dir.to_str().unwrap(),
                "--port",
                &port.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut child = out;
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        if line.trim() == port.to_string() {
            smtp = Some((child, try_dir));
            break;
        }
        let _ = child.wait();
    }
    let (mut child, maildir) = smtp.expect("SMTP server on the same port");
    let r = run(&s, &["--json", "send", "editions/2026-W47.toml"]);
    let _ = child.kill();
    let _ = child.wait();
    let j = r.json();
    assert_eq!(
        (j["sent"].as_u64(), j["finished"].as_bool()),
        (Some(5), Some(true)),
        "{j}"
    );
    let got: Vec<String> = std::fs::read_dir(maildir.join("new"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .split_once('-')
                .unwrap()
                .1
                .trim_end_matches(".eml")
                .to_string()
        })
        .collect();
    let mut got = got;
    got.sort();
    assert_eq!(got, emails);
}

#[test]
fn an_edition_is_not_started_without_subscribers() {
    // Port 9 (discard) is never reached: the run stops before connecting.
    let s = setup(9, "");
    let r = run(&s, &["send", "editions/2026-W47.toml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no active subscribers"), "{}", r.stderr);
    // Nothing was recorded: a dry run still sees a fresh edition.
    import(&s, 3, &[]);
    let dry = run(
        &s,
        &["--json", "send", "editions/2026-W47.toml", "--dry-run"],
    )
    .ok()
    .json();
    assert_eq!(
        (dry["would_send"].as_u64(), dry["already_sent"].as_u64()),
        (Some(3), Some(0))
    );
    // A missing secret is a clear error, not a panic.
    let mut cmd = command(&s, &["send", "editions/2026-W47.toml", "--dry-run"]);
    cmd.env_remove("BOLETIN_SECRET");
    let r = Run::from(cmd.output().unwrap());
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("BOLETIN_SECRET"), "{}", r.stderr);
}

#[test]
fn starttls_and_smtps_with_the_login_from_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    // A private CA and a certificate for localhost signed by it: what `smtp_ca_file` is for.
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(tmp.path())
            .output()
            .expect("openssl (bash .ci/install)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let days = ["-days", "2"];
    openssl(
        &[
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=boletin test CA",
            ][..],
            &days,
            &["-keyout", "ca.key", "-out", "ca.pem"],
        ]
        .concat(),
    );
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "leaf.csr",
    ]);
    std::fs::write(
        tmp.path().join("leaf.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        &[
            &[
                "x509",
                "-req",
                "-in",
                "leaf.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
            ][..],
            &days,
            &["-extfile", "leaf.ext", "-out", "cert.pem"],
        ]
        .concat(),
    );
    let (cert, key, ca) = (
        tmp.path().join("cert.pem"),
        tmp.path().join("key.pem"),
        tmp.path().join("ca.pem"),
    );
    let tls = [
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--auth",
        "boletin:s3cr3to-de-prueba",
    ];
    let starttls = SmtpServer::start_with(&tmp.path().join("starttls"), &tls);
    let s = setup_url(
        &format!("smtp://localhost:{}?tls=required", starttls.port),
        &format!("smtp_ca_file = \"{}\"\n", ca.display()),
    );
    import(&s, 3, &[]);
    let login = |cmd: &mut Command, password: &str| {
        cmd.env("BOLETIN_SMTP_USER", "boletin")
            .env("BOLETIN_SMTP_PASSWORD", password);
    };

    // A wrong password stops the run before anyone is tried.
    let mut cmd = command(&s, &["send", "editions/2026-W47.toml"]);
    login(&mut cmd, "equivocada");
    let r = Run::from(cmd.output().unwrap());
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("login refused"), "{}", r.stderr);
    assert_eq!(starttls.count(), 0);

    // STARTTLS (required) and the right login.
    let mut cmd = command(&s, &["--json", "send", "editions/2026-W47.toml"]);
    login(&mut cmd, "s3cr3to-de-prueba");
    let r = Run::from(cmd.output().unwrap()).ok();
    assert_eq!(r.json()["sent"], 3, "{}", r.stdout);
    assert_eq!(starttls.count(), 3);

    // smtps://: TLS from the first byte.
    let mut smtps_args = tls.to_vec();
    smtps_args.push("--implicit-tls");
    let smtps = SmtpServer::start_with(&tmp.path().join("smtps"), &smtps_args);
    let config = std::fs::read_to_string(s.config()).unwrap().replace(
        &format!("smtp://localhost:{}?tls=required", starttls.port),
        &format!("smtps://localhost:{}", smtps.port),
    );
    std::fs::write(s.config(), config).unwrap();
    let w48 = edition(&s, "2026-W48", 48, "2026-11-28");
    let mut cmd = command(&s, &["--json", "send", &w48]);
    login(&mut cmd, "s3cr3to-de-prueba");
    let r = Run::from(cmd.output().unwrap()).ok();
    assert_eq!(r.json()["sent"], 3, "{}", r.stdout);
    assert_eq!(smtps.count(), 3);
}

/// The `href`s of the HTML part that point at partners' sites.
fn partner_links(html: &str) -> Vec<String> {
    let mut links: Vec<String> = html
        .split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|l| {
            [
                "colectivo-oaxaca",
                "defensoras-network",
                "cdh-altos",
                "frontera-digna",
                "asamblea-istmo",
                "colectivo-solidario",
            ]
            .iter()
            .any(|p| l.contains(&format!("{p}.example.org")))
        })
        .map(str::to_string)
        .collect();
    links.sort();
    links
}

/// Edition text with the `[[section.item]]` whose link is `link` rewritten by `edit`.
fn edit_item(text: &str, link: &str, edit: &dyn Fn(&str) -> String) -> String {
    let blocks: Vec<&str> = text.split("[[section.item]]").collect();
    let mut hit = 0;
    let out: Vec<String> = blocks
        .iter()
        .map(|b| {
            if b.contains(&format!("link = \"{link}\"")) {
                hit += 1;
                edit(b)
            } else {
                b.to_string()
            }
        })
        .collect();
    assert_eq!(hit, 1, "{link} in {text}");
    out.join("[[section.item]]")
}

#[test]
fn send_delivers_the_edited_edition_compose_renders_in_each_readers_language() {
    let (_tmp, smtp, s) = world(0, 0.0, "");
    import(&s, 4, &[]);
    let path = s.path().join("editions/2026-W47.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let tapachula =
        "https://frontera-digna.example.org/en/2026/11/tapachula-comar-appointments-suspended/";
    let pedro = "https://cdh-altos.example.org/acciones-urgentes/2026/pedro-gomez-santiz";
    let text = edit_item(&text, tapachula, &|b| {
        b.replace("include = true", "include = false")
    });
    let text = edit_item(&text, pedro, &|b| {
        format!(
            "{}title_override = \"Libertad para Pedro Gómez Sántiz\"\n\
             blurb = \"Firma la **carta** antes del viernes.\"\n\n",
            b.trim_end_matches('\n').to_string() + "\n"
        )
    });
    // The cross-posted urgent action: draft folded the repost into the original.
    assert!(
        text.contains("also = ["),
        "draft lists the folded copy: {text}"
    );
    std::fs::write(&path, &text).unwrap();

    run(&s, &["send", "editions/2026-W47.toml"]).ok();
    run(
        &s,
        &[
            "--quiet",
            "compose",
            "editions/2026-W47.toml",
            "--lang",
            "es",
            "--out",
            "out",
        ],
    )
    .ok();
    let composed = std::fs::read_to_string(s.path().join("out/2026-W47/email.html")).unwrap();
    let messages = smtp.messages();
    assert_eq!(messages.len(), 4);
    for (rcpt, raw) in &messages {
        assert!(
            header(raw, "Message-ID").unwrap().contains(".2026-W47@"),
            "one edition id: the week"
        );
        let body = qp_decoded(raw);
        let html = &body[body.find("Content-Type: text/html").expect("HTML part")..];
        assert!(
            html.contains("Libertad para Pedro Gómez Sántiz")
                && html.contains("<strong>carta</strong>"),
            "{rcpt}: the editor's title and blurb"
        );
        assert!(!html.contains(tapachula), "{rcpt}: excluded item sent");
        assert_eq!(
            html.matches("Acción urgente: amenazas contra defensora")
                .count(),
            1,
            "{rcpt}: a cross-post once"
        );
        assert!(
            html.contains("Frontera Digna"),
            "{rcpt}: the copy is credited"
        );
        let english = rcpt == "lector003@example.org";
        assert_eq!(
            header(raw, "Content-Language").unwrap(),
            if english { "en" } else { "es" }
        );
        let subject = header(raw, "Subject").unwrap();
        if english {
            assert_eq!(
                subject,
                "Newsletter No. 47: urgent actions in Oaxaca and Chiapas"
            );
        } else {
            assert!(subject.contains("acciones urgentes en Oaxaca"), "{subject}");
        }
        assert_eq!(html.contains("Also in"), english, "{rcpt}");
        assert_eq!(html.contains("También en"), !english, "{rcpt}");
        if !english {
            assert_eq!(
                partner_links(html),
                partner_links(&composed),
                "{rcpt}: the sent edition is the composed one"
            );
        }
    }

    // A Spanish-only edition goes to everyone in Spanish.
    run(
        &s,
        &[
            "--quiet",
            "draft",
            "--since",
            "14d",
            "--now",
            "2026-11-28",
            "--out",
            "editions/2026-W48.toml",
        ],
    )
    .ok();
    let dry = run(
        &s,
        &["--json", "send", "editions/2026-W48.toml", "--dry-run"],
    )
    .ok()
    .json();
    assert_eq!(dry["edition"], "2026-W48");
    assert_eq!(dry["by_language"], serde_json::json!({"es": 4}), "{dry}");
}

/// Each address's state in `subscribers list`: `active`, or why it is suppressed.
fn states(s: &Scratch) -> BTreeMap<String, String> {
    let list = run(s, &["--json", "subscribers", "list"]).ok().json();
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["email"].as_str().unwrap().to_string(),
                s["suppressed"].as_str().unwrap_or("active").to_string(),
            )
        })
        .collect()
}

#[test]
fn a_relay_without_smtputf8_fails_non_ascii_addresses_but_never_suppresses_them() {
    let tmp = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start_with(tmp.path(), &["--no-smtputf8"]);
    let s = setup(smtp.port, "");
    // Mailbox names in Spanish with accents; an IDN domain with an ASCII name is carried
    // in its ASCII (IDNA) form; `strict@` gets a 5xx saying the relay takes only ASCII.
    let extra = [
        "josé.núñez@example.org",
        "ana@ñandú.example",
        "strict@example.org",
    ];
    import(&s, 3, &extra);
    let r = run(&s, &["--json", "send", "editions/2026-W47.toml"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j = r.json();
    assert_eq!(j["sent"], 4, "{j}");
    assert_eq!(j["bounced"], 0, "not the mailboxes' refusal: {j}");
    assert_eq!(j["failed"], 2, "{j}");
    assert_eq!(j["needs_smtputf8"], 2, "{j}");
    let received = per_recipient(&smtp.messages());
    assert_eq!(
        received.get("ana@xn--and-6ma2c.example"),
        Some(&1),
        "{received:?}"
    );

    let status = states(&s);
    assert_eq!(status["josé.núñez@example.org"], "active", "{status:?}");
    assert_eq!(status["strict@example.org"], "active", "{status:?}");

    // Said to a person too, with the reason on the address's own line.
    let s2 = setup(smtp.port, "");
    import(&s2, 1, &["josé.núñez@example.org"]);
    let r = run(&s2, &["send", "editions/2026-W47.toml"]).ok();
    assert!(
        r.stderr
            .contains("josé.núñez@example.org: failed (the SMTP server does not offer SMTPUTF8"),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout.contains("1 failed because the SMTP server lacks SMTPUTF8 for non-ASCII addresses; those addresses are kept, not suppressed"),
        "{}",
        r.stdout
    );
}
