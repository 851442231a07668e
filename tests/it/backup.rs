//! `boletin backup` against a database in use: a fetch writing (slow sources on the
//! project's loopback server) and an unsubscribe still in the WAL when the copy is taken.

use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::common::Scratch;
use crate::fetch::spawn_fetch;
use crate::server::{Body, Reply, Server};

const SUBSCRIBERS: &str = "email,name,language\n\
    ana.lopez@correo.example.org,Ana López Hernández,es\n\
    j.martinez@colectivo.example.org,José Martínez,es-MX\n\
    sarah.okafor@solidarity.example.net,Sarah O'Kafor,English\n\
    begona@ejemplo.example.com,Begoña Ibáñez,Español\n";

/// Six feeds served one at a time, each body trickling in two parts: a fetch that keeps
/// committing for a few seconds.
fn slow_sources(server: &Server) -> Scratch {
    let s = Scratch::empty();
    let mut toml = String::from(
        "[newsletter]\ntitle = \"Boletín Solidaridad Oaxaca–Chiapas\"\n\
         from = \"Boletín Solidaridad <boletin@example.org>\"\n\n\
         [settings]\ntimeout_secs = 20\nstall_timeout_secs = 5\nconcurrency = 1\nper_host = 1\n\n\
         [[section]]\nid = \"noticias\"\ntitle = \"Noticias / News\"\n",
    );
    for n in 1..=6 {
        let path = format!("/fuente-{n}/feed/");
        let body = feed(n).into_bytes();
        server.fixed(&path, move || {
            let half = body.len() / 2 + 1;
            let parts = body.chunks(half).map(<[u8]>::to_vec).collect();
            Reply::ok("application/rss+xml; charset=utf-8", "").body(Body::Trickle {
                parts,
                pause: Duration::from_millis(400),
            })
        });
        toml.push_str(&format!(
            "\n[[source]]\nid = \"fuente-{n}\"\nname = \"Colectivo {n}\"\nurl = \"{}\"\nsection = \"noticias\"\n",
            server.url(&path)
        ));
    }
    s.write("feeds.toml", &toml);
    s
}

fn feed(n: usize) -> String {
    let mut items = String::new();
    for i in 0..3 {
        items.push_str(&format!(
            "<item><title>Comunicado {n}.{i}: desplazamiento forzado en Chenalhó</title>\
             <link>https://colectivo{n}.example.org/comunicados/{i}/</link>\
             <pubDate>Thu, {:02} Nov 2026 18:30:00 -0600</pubDate>\
             <description>Familias tsotsiles denuncian ataques armados. \
             Tsotsil families report armed attacks near Chenalhó, Chiapas.</description></item>",
            10 + i
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel>\
         <title>Colectivo {n}</title><link>https://colectivo{n}.example.org/</link>\
         <description>Comunicados</description>{items}</channel></rss>"
    )
}

fn open_read_only(path: &std::path::Path) -> Connection {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open copy")
}

fn suppression(conn: &Connection, email: &str) -> Option<String> {
    conn.query_row(
        "SELECT reason FROM suppressions WHERE email = ?1",
        [email],
        |r| r.get(0),
    )
    .ok()
}

#[test]
fn a_backup_during_a_fetch_is_whole_and_holds_the_unsubscribe_still_in_the_wal() {
    let server = Server::start();
    let s = slow_sources(&server);
    s.write("lista.csv", SUBSCRIBERS);
    s.run(&["subscribers", "import", "lista.csv"]).ok();

    let mut fetch = spawn_fetch(&s);
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.requests().len() < 3 {
        assert!(
            Instant::now() < deadline,
            "the fetch never reached its third source"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Committed while the fetch holds the database open: it stays in the WAL.
    s.run(&["subscribers", "remove", "ana.lopez@correo.example.org"])
        .ok();
    let wal = s.path().join("boletin.db-wal");
    assert!(wal.exists(), "the fetch keeps a WAL while it runs");

    // What `cp boletin.db` would have kept.
    let plain_copy = s.path().join("cp-copy.db");
    std::fs::copy(s.db(), &plain_copy).unwrap();

    let run = s
        .run(&["--json", "backup", "copias/boletin-2026-11-21.db"])
        .ok();
    assert!(
        fetch.try_wait().unwrap().is_none(),
        "the fetch was still running when the backup finished"
    );
    let report = run.json();
    assert_eq!(report["integrity"], "ok");
    assert_eq!(report["counts"]["subscribers"], 4);
    assert_eq!(report["counts"]["suppressions"], 1);

    let copy_path = s.path().join("copias/boletin-2026-11-21.db");
    let copy = open_read_only(&copy_path);
    let check: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    assert_eq!(
        suppression(&copy, "ana.lopez@correo.example.org").as_deref(),
        Some("unsubscribed")
    );
    let copied_items: i64 = copy
        .query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(report["counts"]["items"], copied_items);
    // One file, no WAL: it opens read-only anywhere.
    let mode: String = copy
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete");
    drop(copy);
    let leftovers: Vec<String> = std::fs::read_dir(s.path().join("copias"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers, ["boletin-2026-11-21.db"]);

    // The plain copy lost the unsubscribe: that reader would be mailed again.
    assert_eq!(
        suppression(&open_read_only(&plain_copy), "ana.lopez@correo.example.org"),
        None
    );

    let out = fetch.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The fetch went on writing after the copy was taken.
    let all = s.items(&["--all"]).len() as i64;
    assert_eq!(all, 18);
    assert!(copied_items < all, "copy {copied_items} of {all} items");

    // Restore as the README says: services stopped, file replaced, stale -wal/-shm gone.
    std::fs::copy(&copy_path, s.db()).unwrap();
    for sidecar in ["boletin.db-wal", "boletin.db-shm"] {
        let _ = std::fs::remove_file(s.path().join(sidecar));
    }
    let counts = s.run(&["--json", "subscribers", "count"]).ok().json();
    assert_eq!(counts["active"], 3, "{counts}");
    assert_eq!(counts["unsubscribed"], 1, "{counts}");
    assert_eq!(s.items(&["--all"]).len() as i64, copied_items);
}

#[test]
fn an_existing_file_is_kept_unless_forced() {
    let s = Scratch::demo();
    s.run(&["fetch", "--quiet"]).ok();
    let previous = "copia de la semana pasada: no tocar\n";
    let target = s.write("respaldo.db", previous);

    let refused = s.run(&["backup", "respaldo.db"]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused.stderr.contains("respaldo.db exists: pass --force"),
        "{}",
        refused.stderr
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), previous);
    let stray: Vec<String> = std::fs::read_dir(s.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");

    let same = s.run(&["backup", "--force", "boletin.db"]);
    assert_eq!(same.code, 2, "{same:?}");
    assert!(
        same.stderr.contains("is the database itself"),
        "{}",
        same.stderr
    );

    let forced = s.run(&["--json", "backup", "--force", "respaldo.db"]).ok();
    assert_eq!(forced.json()["counts"]["items"], 29);
    let copy = open_read_only(&target);
    let items: i64 = copy
        .query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(items, 29);
}
