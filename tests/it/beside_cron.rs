//! Editors work while cron fetches. A long `fetch` (slow partner servers, thousands of new
//! items stored and annotated) writes the database the whole time; `items remove`,
//! `subscribers import`, `draft` and `serve`'s one-click unsubscribe, run meanwhile, wait
//! for its write transactions instead of failing with "database is locked".

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use boletin::deliver::token::{Secret, sign};

use crate::common::{Run, Scratch};
use crate::delivery::{SECRET, command, run};
use crate::serve::{Serve, http};
use crate::server::{Body, Reply, Server};

const FEEDS: usize = 16;
const ITEMS: usize = 100;

/// Words the communiqués are made of; each item picks its own, so no two read alike and
/// none is folded into another's story.
const WORDS: &[&str] = &[
    "asamblea",
    "comunitaria",
    "defensoras",
    "territorio",
    "agua",
    "semillas",
    "milpa",
    "concesión",
    "minera",
    "consulta",
    "amparo",
    "juzgado",
    "fiscalía",
    "desplazamiento",
    "familias",
    "tsotsiles",
    "zapotecas",
    "mixtecas",
    "ayuuk",
    "chatinas",
    "migrantes",
    "albergue",
    "caravana",
    "frontera",
    "Tapachula",
    "Ixtepec",
    "Juchitán",
    "Ocosingo",
    "Chenalhó",
    "Aldama",
    "Oaxaca",
    "Chiapas",
    "Guerrero",
    "Honduras",
    "Guatemala",
    "radio",
    "comunicadoras",
    "periodistas",
    "amenazas",
    "hostigamiento",
    "detención",
    "arbitraria",
    "liberación",
    "solidaridad",
    "carta",
    "firmas",
    "marcha",
    "plantón",
    "audiencia",
    "tribunal",
    "ejido",
    "cooperativa",
    "cafetaleras",
    "tejedoras",
    "escuela",
    "clínica",
    "parteras",
    "lengua",
    "intérprete",
    "acompañamiento",
    "brigada",
    "observación",
    "eólico",
    "presa",
    "carretera",
    "tren",
    "gasoducto",
    "bosque",
    "manantial",
    "río",
];

/// The RSS of feed `feed` in `round`: its latest [`ITEMS`] items, all new each round.
fn rss(feed: usize, round: usize) -> String {
    let items: String = (0..ITEMS)
        .map(|i| {
            let n = (round * FEEDS + feed) * ITEMS + i;
            // xorshift, seeded by the item's number.
            let mut x = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let mut word = |_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                WORDS[(x % WORDS.len() as u64) as usize]
            };
            let title: Vec<&str> = (0..6).map(&mut word).collect();
            let body: Vec<&str> = (0..80).map(&mut word).collect();
            format!(
                "<item><title>Comunicado {n}: {}</title>\
                 <link>https://red{feed}.example.org/comunicados/{n}/</link>\
                 <guid>https://red{feed}.example.org/comunicados/{n}/</guid>\
                 <description><![CDATA[<p>{}.</p><p>Firma la carta número {n}.</p>]]></description></item>",
                title.join(" "),
                body.join(" ")
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel>\
         <title>Red {feed}</title><link>https://red{feed}.example.org/</link>{items}</channel></rss>"
    )
}

/// A one-click unsubscribe of subscriber `id` through `serve`; the response's status.
fn unsubscribe(serve: &Serve, id: i64) -> u16 {
    let secret = Secret::resolve(Some(SECRET.to_string()), None).unwrap();
    let target = format!("/unsubscribe?token={}", sign(&secret, id));
    http(&serve.addr, "POST", &target, "List-Unsubscribe=One-Click").status
}

#[track_caller]
fn succeeded(what: &str, r: Run) {
    assert_eq!(
        r.code, 0,
        "{what} failed beside fetch: {}{}",
        r.stdout, r.stderr
    );
}

#[test]
fn items_remove_import_draft_and_unsubscribe_succeed_while_a_long_fetch_writes() {
    let server = Server::start();
    let round = Arc::new(AtomicUsize::new(0));
    let mut sources = String::new();
    for feed in 0..FEEDS {
        let round = round.clone();
        server.route(&format!("/red{feed}.xml"), move |_| {
            let r = round.load(Ordering::SeqCst);
            let body = rss(feed, r).into_bytes();
            // From the second round on, partners answer slowly: the fetch lasts seconds,
            // committing a source whenever one arrives, then annotates everything.
            let parts = if r == 0 { 1 } else { 8 };
            let size = body.len().div_ceil(parts);
            Reply::new(200)
                .header("Content-Type", "application/rss+xml")
                .body(Body::Trickle {
                    parts: body.chunks(size).map(<[u8]>::to_vec).collect(),
                    pause: Duration::from_millis(if r == 0 { 0 } else { 150 }),
                })
        });
        sources.push_str(&format!(
            "\n[[source]]\nid = \"red{feed}\"\nname = \"Red de solidaridad {feed}\"\nurl = \"{}\"\nsection = \"news\"\n",
            server.url(&format!("/red{feed}.xml"))
        ));
    }
    let s = Scratch::empty();
    s.write(
        "feeds.toml",
        &format!(
            "[newsletter]\ntitle = \"Boletín de prueba\"\nfrom = \"Boletín <boletin@example.org>\"\n\n\
             [settings]\nconcurrency = 4\nper_host = 4\ntimeout_secs = 60\nstall_timeout_secs = 30\n\n\
             [delivery]\nunsubscribe_url = \"http://127.0.0.1:8080/unsubscribe\"\n\n\
             [[section]]\nid = \"news\"\ntitle = \"Noticias\"\n{sources}"
        ),
    );
    succeeded("the first fetch", run(&s, &["fetch", "--quiet"]));
    // Oldest first: the newest id is given again after it is deleted (SQLite rowids).
    let mut ids: Vec<i64> = run(&s, &["--json", "items", "--all", "--limit", "100000"])
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids.len(), FEEDS * ITEMS);
    let people: String = (0..1000)
        .map(|i| format!("persona{i}@ejemplo.org,Persona {i},es\n"))
        .collect();
    s.write("inicial.csv", &format!("email,name,language\n{people}"));
    succeeded("import", run(&s, &["subscribers", "import", "inicial.csv"]));
    let subscribers: Vec<i64> = run(&s, &["--json", "subscribers", "list"])
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    let serve = Serve::start(&s);

    round.store(1, Ordering::SeqCst);
    let mut fetch = command(&s, &["fetch", "--quiet", "--force"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut rounds = 0;
    while fetch.try_wait().unwrap().is_none() && rounds < subscribers.len() {
        assert!(started.elapsed() < Duration::from_secs(300), "fetch hangs");
        let id = ids[rounds].to_string();
        succeeded("items remove", run(&s, &["items", "remove", &id]));
        s.write(
            "lista.csv",
            &format!("email,name,language\nnueva{rounds}@ejemplo.org,Nueva {rounds},es\n"),
        );
        succeeded(
            "subscribers import",
            run(&s, &["subscribers", "import", "lista.csv"]),
        );
        assert_eq!(unsubscribe(&serve, subscribers[rounds]), 200, "unsubscribe");
        // A draft reads every item of the week: slow, so once, while sources arrive.
        if rounds == 0 {
            succeeded(
                "draft",
                run(&s, &["--quiet", "draft", "--out", "editions/borrador.toml"]),
            );
        }
        rounds += 1;
    }
    let out = fetch.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        rounds >= 2,
        "the editor had time for {rounds} rounds during the fetch"
    );

    // Everything each side wrote is there.
    let items = run(&s, &["--json", "items", "--all", "--limit", "100000"]).json();
    let stored: Vec<i64> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(stored.len(), 2 * FEEDS * ITEMS - rounds);
    assert!(ids[..rounds].iter().all(|id| !stored.contains(id)));
    let c = run(&s, &["--json", "subscribers", "count"]).json();
    assert_eq!(
        (c["active"].as_u64(), c["unsubscribed"].as_u64()),
        (Some(1000), Some(rounds as u64)),
        "{c}"
    );
}
