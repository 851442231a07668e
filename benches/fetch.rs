//! Fetch benchmark: N synthetic feeds served from loopback, fetched by the real release binary
//! cold (empty database: every feed downloaded, parsed, sanitized and stored) and then warm
//! (every feed answers 304 to the stored ETag). Prints wall time, CPU time (user + sys of the
//! child) and the child's peak resident memory. Figures, not a pass/fail test.
//!
//! ```sh
//! cargo bench --bench fetch              # 1,000 and 5,000 feeds
//! cargo bench --bench fetch -- 200 2000  # other sizes
//! ```
//!
//! Each feed is RSS 2.0 with 30 items (WordPress-like: excerpt plus full HTML content in
//! Spanish and English), about 60 KB. Feeds are spread over 16 loopback addresses
//! (127.0.1.1 … 127.0.1.16) so the per-host limit (2) and the global limit (16) both apply as
//! they would against real partner sites.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark should stop loudly at the first surprise"
)]

#[path = "../tests/it/server.rs"]
mod server;

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use server::{Reply, Server};

const HOSTS: usize = 16;
const ITEMS: usize = 30;

fn main() {
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![1000, 5000];
    }
    let bin = env!("CARGO_BIN_EXE_boletin");
    let sample = feed(0);
    println!(
        "boletin fetch benchmark: {ITEMS} items and {:.0} KB per feed, {HOSTS} loopback hosts, {} cores",
        sample.len() as f64 / 1000.0,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let served = Arc::new(AtomicUsize::new(0));
    let not_modified = Arc::new(AtomicUsize::new(0));
    let servers: Vec<Server> = (1..=HOSTS)
        .map(|h| {
            let server = Server::start_on(&format!("127.0.1.{h}"));
            server.quiet();
            let (served, not_modified) = (served.clone(), not_modified.clone());
            server.fallback(move |req| {
                let n: usize = req
                    .path
                    .trim_start_matches("/feed/")
                    .trim_end_matches(".xml")
                    .parse()
                    .unwrap_or(0);
                let etag = format!("\"{n}-v1\"");
                if req.header("if-none-match") == Some(etag.as_str()) {
                    not_modified.fetch_add(1, Ordering::Relaxed);
                    return Reply::new(304).header("ETag", &etag);
                }
                served.fetch_add(1, Ordering::Relaxed);
                Reply::ok("application/rss+xml; charset=UTF-8", feed(n)).header("ETag", &etag)
            });
            server
        })
        .collect();

    println!(
        "\n{:>6}  {:<5} {:>8} {:>9} {:>10} {:>7} {:>8}",
        "feeds", "run", "wall s", "CPU s", "peak MiB", "exit", "answers"
    );
    for &n in &sizes {
        let dir = tempfile::tempdir().expect("temp dir");
        write_config(dir.path(), n, &servers);
        for run in ["cold", "warm"] {
            served.store(0, Ordering::SeqCst);
            not_modified.store(0, Ordering::SeqCst);
            let m = measure(bin, dir.path());
            let answers = format!(
                "{}x200 {}x304",
                served.load(Ordering::SeqCst),
                not_modified.load(Ordering::SeqCst)
            );
            println!(
                "{n:>6}  {run:<5} {:>8.2} {:>9.2} {:>10.1} {:>7} {answers}",
                m.wall.as_secs_f64(),
                m.cpu_secs,
                m.peak_kib as f64 / 1024.0,
                m.exit
            );
        }
        let items = count_items(&dir.path().join("boletin.db"));
        println!("{n:>6}  stored {items} items (expected {})", n * ITEMS);
    }
}

fn write_config(dir: &Path, n: usize, servers: &[Server]) {
    let mut toml = String::from(
        "[newsletter]\ntitle = \"Boletín benchmark\"\nfrom = \"Boletín <boletin@example.org>\"\n\n\
         [[section]]\nid = \"news\"\ntitle = \"Noticias / News\"\n",
    );
    for i in 0..n {
        let server = &servers[i % servers.len()];
        let _ = write!(
            toml,
            "\n[[source]]\nid = \"feed{i}\"\nname = \"Organización {i}\"\nurl = \"{}\"\nsection = \"news\"\n",
            server.url(&format!("/feed/{i}.xml"))
        );
    }
    std::fs::write(dir.join("feeds.toml"), toml).expect("write config");
}

struct Measure {
    wall: Duration,
    cpu_secs: f64,
    peak_kib: u64,
    exit: i32,
}

/// Runs `boletin fetch` and measures it. Peak memory is VmHWM, sampled every 2 ms (it only
/// grows, so the last sample is the peak up to the last 2 ms); CPU time is read from the
/// exited-but-not-yet-reaped child, so it is the whole run.
fn measure(bin: &str, dir: &Path) -> Measure {
    let started = Instant::now();
    let mut child = Command::new(bin)
        .current_dir(dir)
        .args(["--config", "feeds.toml", "--quiet", "fetch"])
        .env_remove("BOLETIN_DB")
        .env_remove("BOLETIN_CONFIG")
        .stdout(Stdio::null())
        .spawn()
        .expect("run boletin");
    let pid = child.id();
    let rpid = rustix::process::Pid::from_child(&child);
    let mut peak_kib = 0;
    loop {
        if let Some(kib) = vm_hwm(pid) {
            peak_kib = peak_kib.max(kib);
        }
        let exited = rustix::process::waitid(
            rustix::process::WaitId::Pid(rpid),
            rustix::process::WaitIdOptions::EXITED
                | rustix::process::WaitIdOptions::NOWAIT
                | rustix::process::WaitIdOptions::NOHANG,
        )
        .ok()
        .flatten()
        .is_some();
        if exited {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let wall = started.elapsed();
    let cpu_secs = cpu_ticks(pid) as f64 / rustix::param::clock_ticks_per_second() as f64;
    let exit = child.wait().map_or(-1, |s| s.code().unwrap_or(-1));
    Measure {
        wall,
        cpu_secs,
        peak_kib,
        exit,
    }
}

fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// utime + stime of a (zombie) process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // Fields after the command name (which may contain spaces) start at field 3.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    field(14).unwrap_or(0) + field(15).unwrap_or(0)
}

fn count_items(db: &Path) -> i64 {
    rusqlite::Connection::open(db)
        .and_then(|c| c.query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0)))
        .unwrap_or(-1)
}

const ES: &[&str] = &[
    "Las comunidades zapotecas de la Sierra Norte denuncian la entrada de maquinaria minera sin consulta previa.",
    "La defensora fue hostigada por elementos de la policía estatal frente a su domicilio en San Cristóbal de las Casas.",
    "Exigimos a las autoridades garantizar la integridad física y psicológica de las familias desplazadas de Chenalhó.",
    "El tribunal agrario reconoció el derecho de la asamblea a decidir sobre su territorio y sus manantiales.",
    "Más de trescientas personas migrantes permanecen varadas en Tapachula a la espera de una cita con la COMAR.",
];
const EN: &[&str] = &[
    "Community radio stations in the Isthmus of Tehuantepec report threats after covering the wind farm consultation.",
    "Human rights observers documented the forced eviction of twelve families from their ancestral lands.",
    "The solidarity network calls for letters to the governor demanding a full and impartial investigation.",
    "Women land defenders from Honduras and Guatemala met in Oaxaca to share strategies of collective protection.",
    "Migrant shelters along the southern border warn of overcrowding as appointments are suspended again.",
];

/// Feed number `n`: deterministic, distinct items, about 60 KB.
/// `words` words drawn from the vocabulary of `pool`, the same for the same `story` and
/// `part`: realistic Spanish or English text that differs from story to story.
fn text(story: (usize, usize), part: u64, pool: &[&str], words: usize) -> String {
    let vocabulary: Vec<&str> = pool.iter().flat_map(|s| s.split_whitespace()).collect();
    let mut state = (story.0 as u64)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add((story.1 as u64) << 20)
        .wrapping_add(part.wrapping_mul(0xbf58_476d_1ce4_e5b9));
    let mut out = Vec::with_capacity(words);
    for _ in 0..words {
        // xorshift64*: a fixed sequence per seed, no dependency needed.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let r = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        out.push(vocabulary[(r >> 33) as usize % vocabulary.len()]);
    }
    let mut sentence = out.join(" ");
    sentence.push('.');
    sentence
}

fn feed(n: usize) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" \
         xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\
         <channel><title>Organización {n}</title><link>https://org{n}.example.org/</link>\
         <description>Noticias y acciones urgentes / News and urgent actions</description><language>es-MX</language>\n"
    );
    for i in 0..ITEMS {
        // Partners mostly publish their own stories; about one item in 33 re-posts the
        // same-numbered item of the next organization (a real cross-post).
        let story = if (n * 31 + i).is_multiple_of(33) {
            (n + 1, i)
        } else {
            (n, i)
        };
        let es = &text(story, 0, ES, 18);
        let en = &text(story, 1, EN, 18);
        let day = 1 + (n + i) % 28;
        let _ = write!(
            out,
            "<item><title>Acción urgente {i}: {title}</title>\
             <link>https://org{n}.example.org/{year}/11/{day:02}/noticia-{i}/</link>\
             <guid isPermaLink=\"false\">https://org{n}.example.org/?p={i}</guid>\
             <pubDate>Fri, {day:02} Nov 2026 1{h}:30:00 +0000</pubDate><dc:creator>Comunicación</dc:creator>\
             <category>Derechos humanos</category><category>Oaxaca</category>\
             <description><![CDATA[{es} {en} [&#8230;]]]></description>\
             <content:encoded><![CDATA[",
            title = es.split_whitespace().take(7).collect::<Vec<_>>().join(" "),
            year = 2026,
            h = i % 10,
        );
        for p in 0..3 {
            let es = &text(story, 2 + p as u64, ES, 18);
            let en = &text(story, 5 + p as u64, EN, 18);
            let _ = writeln!(
                out,
                "<p><strong>{es}</strong> {en} <a href=\"/{year}/11/{day:02}/relacionado-{p}/\" \
                 title=\"Más información\">Leer más / Read more</a></p>",
                year = 2026
            );
        }
        let _ = writeln!(
            out,
            "<figure><img src=\"https://org{n}.example.org/wp-content/uploads/2026/11/foto-{i}.jpg\" \
             alt=\"Asamblea comunitaria en la Sierra Norte\" width=\"800\" height=\"533\" onerror=\"alert(1)\">\
             <figcaption>Foto: Colectivo de comunicación</figcaption></figure>\
             <blockquote>{es}</blockquote>\
             <p>Firma la petición / Sign the petition: <a href=\"https://org{n}.example.org/firma\">aquí</a>.</p>\
             ]]></content:encoded></item>"
        );
    }
    out.push_str("</channel></rss>\n");
    out
}
