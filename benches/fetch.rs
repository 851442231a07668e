//! Fetch benchmark: N synthetic feeds served from loopback, fetched by the real release binary
//! cold (empty database: every feed downloaded, parsed, sanitized, stored and annotated) and
//! then warm (every feed answers 304 to the stored ETag). Prints wall time, CPU time (user +
//! sys of the child), the child's peak resident memory, where the time went, and what dedup
//! made of it (copies folded, the largest story). Figures, not a pass/fail test.
//!
//! Where the time went: the fetch (download, parse, sanitize, annotate, store), by wall time
//! and CPU, and annotation's share of that CPU (language, tags, excerpts, signatures: the
//! binary counts its threads' CPU time); then the pass that places items in stories.
//!
//! ```sh
//! cargo bench --bench fetch                         # both kinds of text, 1,000 and 5,000 feeds
//! cargo bench --bench fetch -- 200 2000             # other sizes
//! cargo bench --bench fetch -- --mode templated 1000
//! cargo bench --bench fetch -- --keep /tmp/dbs 200   # keep each run's database
//! cargo bench --bench fetch -- --feeds /tmp/feeds 200 # only write the feeds, for other tools
//! BOLETIN_BENCH_BIN=/path/to/boletin cargo bench --bench fetch   # another build
//! ```
//!
//! Each feed is RSS 2.0 with 30 items (WordPress-like: excerpt plus full HTML content in
//! Spanish and English), about 60 KB. Feeds are spread over 16 loopback addresses
//! (127.0.1.1 … 127.0.1.16) so the per-host limit (2) and the global limit (16) both apply as
//! they would against real partner sites. Two kinds of text:
//!
//! - `unique`: every story's text differs (words drawn at random per story);
//! - `templated`: what networks publish: each item has its own title and one sentence of
//!   its own facts, and the rest of its body drawn from a small pool of shared paragraphs
//!   (calls to action, campaign calls, footers, signatures, share lines). Nothing but the
//!   cross-posts may fold.
//!
//! In both, about one item in 33 re-posts another organization's item (a real cross-post).

#![allow(
    clippy::write_with_newline,
    clippy::print_literal,
    reason = "feed documents are written as the multi-line text a partner serves, and the table header lines up with its rows"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark should stop loudly at the first surprise"
)]

#[path = "../tests/it/server.rs"]
mod server;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use server::{Reply, Server};

const HOSTS: usize = 16;
const ITEMS: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Unique,
    Templated,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Unique => "unique",
            Mode::Templated => "templated",
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if sizes.is_empty() {
        sizes = vec![1000, 5000];
    }
    let modes = match args
        .iter()
        .position(|a| a == "--mode")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
    {
        Some("unique") => vec![Mode::Unique],
        Some("templated") => vec![Mode::Templated],
        _ => vec![Mode::Templated, Mode::Unique],
    };
    let keep = args
        .iter()
        .position(|a| a == "--keep")
        .and_then(|i| args.get(i + 1))
        .map(std::path::PathBuf::from);
    if let Some(folder) = args
        .iter()
        .position(|a| a == "--feeds")
        .and_then(|i| args.get(i + 1))
    {
        for &mode in &modes {
            let folder = Path::new(folder).join(mode.name());
            std::fs::create_dir_all(&folder).expect("--feeds folder");
            for n in 0..sizes.iter().copied().max().unwrap_or(0) {
                std::fs::write(folder.join(format!("{n}.xml")), feed(n, mode)).expect("write feed");
            }
        }
        return;
    }
    // Comparing two builds on the same feeds: the other one's binary.
    let bin = std::env::var("BOLETIN_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_boletin").to_string());
    let bin = bin.as_str();
    println!(
        "boletin fetch benchmark: {ITEMS} items and {:.0}/{:.0} KB per feed (unique/templated), \
         {HOSTS} loopback hosts, {} cores",
        feed(0, Mode::Unique).len() as f64 / 1000.0,
        feed(0, Mode::Templated).len() as f64 / 1000.0,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let served = Arc::new(AtomicUsize::new(0));
    let not_modified = Arc::new(AtomicUsize::new(0));
    let templated = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let servers: Vec<Server> = (1..=HOSTS)
        .map(|h| {
            let server = Server::start_on(&format!("127.0.1.{h}"));
            server.quiet();
            let (served, not_modified, templated) =
                (served.clone(), not_modified.clone(), templated.clone());
            server.fallback(move |req| {
                let n: usize = req
                    .path
                    .trim_start_matches("/feed/")
                    .trim_end_matches(".xml")
                    .parse()
                    .unwrap_or(0);
                let mode = if templated.load(Ordering::SeqCst) {
                    Mode::Templated
                } else {
                    Mode::Unique
                };
                let etag = format!("\"{n}-{}\"", mode.name());
                if req.header("if-none-match") == Some(etag.as_str()) {
                    not_modified.fetch_add(1, Ordering::Relaxed);
                    return Reply::new(304).header("ETag", &etag);
                }
                served.fetch_add(1, Ordering::Relaxed);
                Reply::ok("application/rss+xml; charset=UTF-8", feed(n, mode)).header("ETag", &etag)
            });
            server
        })
        .collect();

    println!(
        "\n{:<9} {:>6}  {:<5} {:>7} {:>7} {:>9} {:>5}  {:<56} answers",
        "text", "feeds", "run", "wall s", "CPU s", "peak MiB", "exit", "where the time went"
    );
    for &mode in &modes {
        templated.store(mode == Mode::Templated, Ordering::SeqCst);
        for &n in &sizes {
            let dir = tempfile::tempdir().expect("temp dir");
            write_config(dir.path(), n, &servers);
            let mut max_candidates = 0;
            for run in ["cold", "warm"] {
                served.store(0, Ordering::SeqCst);
                not_modified.store(0, Ordering::SeqCst);
                let m = measure(bin, dir.path());
                let answers = format!(
                    "{}x200 {}x304",
                    served.load(Ordering::SeqCst),
                    not_modified.load(Ordering::SeqCst)
                );
                let split = format!(
                    "fetch {:.2}s/{:.1}cpu (annotating {:.1}cpu), stories {:.2}s/{:.1}cpu",
                    m.fetch_ms as f64 / 1000.0,
                    m.fetch_cpu,
                    m.annotate_cpu,
                    m.annotate_ms as f64 / 1000.0,
                    m.cpu_secs - m.fetch_cpu,
                );
                println!(
                    "{:<9} {n:>6}  {run:<5} {:>7.2} {:>7.2} {:>9.1} {:>5}  {split:<56} {answers}",
                    mode.name(),
                    m.wall.as_secs_f64(),
                    m.cpu_secs,
                    m.peak_kib as f64 / 1024.0,
                    m.exit,
                );
                max_candidates = max_candidates.max(m.max_candidates);
                if run == "cold" {
                    let threads: Vec<String> = m
                        .threads
                        .iter()
                        .map(|(name, secs)| format!("{name} {secs:.1}"))
                        .collect();
                    println!("{:>25} CPU by thread: {}", "", threads.join(", "));
                }
            }
            let (items, copies, largest) = stories(&dir.path().join("boletin.db"));
            if let Some(keep) = &keep {
                std::fs::create_dir_all(keep).expect("--keep folder");
                let db = keep.join(format!("{}-{n}.db", mode.name()));
                let _ = std::fs::remove_file(&db);
                // A consistent copy of the database, written-ahead log included.
                rusqlite::Connection::open(dir.path().join("boletin.db"))
                    .and_then(|c| c.execute("VACUUM INTO ?1", [db.to_string_lossy()]))
                    .expect("copy the database");
            }
            println!(
                "{:<9} {n:>6}  stored {items} items (expected {}); {copies} copies folded, \
                 largest story {largest} items, at most {max_candidates} candidates judged per item",
                mode.name(),
                n * ITEMS
            );
        }
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
    /// From `fetch --json`: the fetch's wall time, and the time of what follows it (annotating
    /// what the fetch did not, placing items in stories).
    fetch_ms: u64,
    annotate_ms: u64,
    /// CPU seconds the binary spent annotating (its threads' CPU time, summed).
    annotate_cpu: f64,
    /// CPU seconds spent until the fetch's worker threads were gone.
    fetch_cpu: f64,
    /// CPU seconds per thread name, most first.
    threads: Vec<(String, f64)>,
    /// The most candidates annotation judged for one item.
    max_candidates: u64,
}

/// Runs `boletin fetch` and measures it. Peak memory is VmHWM, sampled every 2 ms (it only
/// grows, so the last sample is the peak up to the last 2 ms); CPU time is read from the
/// exited-but-not-yet-reaped child, so it is the whole run. Threads are sampled every 10 ms
/// (a thread's last 10 ms may be missed); the fetch phase ends when its runtime's workers
/// (`tokio-rt-worker`) are gone.
fn measure(bin: &str, dir: &Path) -> Measure {
    let started = Instant::now();
    let mut child = Command::new(bin)
        .current_dir(dir)
        .args(["--config", "feeds.toml", "--json", "fetch"])
        .env_remove("BOLETIN_DB")
        .env_remove("BOLETIN_CONFIG")
        .stdout(Stdio::piped())
        .spawn()
        .expect("run boletin");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut out);
        out
    });
    let pid = child.id();
    let rpid = rustix::process::Pid::from_child(&child);
    let ticks = rustix::param::clock_ticks_per_second() as f64;
    let mut peak_kib = 0;
    let mut per_thread: HashMap<u32, (String, u64)> = HashMap::new();
    let mut fetch_cpu = None;
    let mut seen_workers = false;
    let mut round = 0u64;
    loop {
        if let Some(kib) = vm_hwm(pid) {
            peak_kib = peak_kib.max(kib);
        }
        if round.is_multiple_of(5) {
            let workers = sample_threads(pid, &mut per_thread);
            seen_workers |= workers > 0;
            if seen_workers && workers == 0 && fetch_cpu.is_none() {
                fetch_cpu = Some(cpu_ticks(pid) as f64 / ticks);
            }
        }
        round += 1;
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
    let cpu_secs = cpu_ticks(pid) as f64 / ticks;
    let exit = child.wait().map_or(-1, |s| s.code().unwrap_or(-1));
    let json: serde_json::Value =
        serde_json::from_str(&reader.join().unwrap_or_default()).unwrap_or_default();
    let mut threads: HashMap<String, u64> = HashMap::new();
    for (name, t) in per_thread.into_values() {
        *threads.entry(name).or_default() += t;
    }
    let mut threads: Vec<(String, f64)> = threads
        .into_iter()
        .map(|(name, t)| (name, t as f64 / ticks))
        .filter(|(_, secs)| *secs >= 0.05)
        .collect();
    threads.sort_by(|a, b| b.1.total_cmp(&a.1));
    Measure {
        wall,
        cpu_secs,
        peak_kib,
        exit,
        fetch_ms: json["annotation"]["fetch_ms"].as_u64().unwrap_or(0),
        annotate_ms: json["annotation"]["ms"].as_u64().unwrap_or(0),
        annotate_cpu: json["annotation"]["cpu_ms"].as_u64().unwrap_or(0) as f64 / 1000.0,
        fetch_cpu: fetch_cpu.unwrap_or(cpu_secs),
        threads,
        max_candidates: json["annotation"]["max_candidates"].as_u64().unwrap_or(0),
    }
}

/// Records each thread's name and CPU ticks; returns how many fetch workers are alive.
fn sample_threads(pid: u32, seen: &mut HashMap<u32, (String, u64)>) -> usize {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    let mut workers = 0;
    for task in tasks.flatten() {
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let name = stat
            .split_once('(')
            .and_then(|(_, rest)| rest.rsplit_once(')'))
            .map_or("?", |(name, _)| name)
            .to_string();
        workers += usize::from(name.starts_with("tokio-rt"));
        let ticks = stat_ticks(&stat);
        seen.insert(tid, (name, ticks));
    }
    workers
}

fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// utime + stime of a (zombie) process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(0, |s| stat_ticks(&s))
}

/// utime + stime from a `stat` line.
fn stat_ticks(stat: &str) -> u64 {
    // Fields after the command name (which may contain spaces) start at field 3.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    field(14).unwrap_or(0) + field(15).unwrap_or(0)
}

/// Items stored, copies folded and the largest story (asked of the store itself).
fn stories(db: &Path) -> (i64, i64, i64) {
    let Ok(c) = rusqlite::Connection::open(db) else {
        return (-1, -1, -1);
    };
    let one = |sql: &str| c.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap_or(-1);
    (
        one("SELECT COUNT(*) FROM items"),
        one("SELECT COUNT(*) FROM items WHERE duplicate_of IS NOT NULL"),
        one(
            "SELECT COALESCE(MAX(n), 1) FROM (SELECT COUNT(*) + 1 AS n FROM items
             WHERE duplicate_of IS NOT NULL GROUP BY duplicate_of)",
        ),
    )
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

/// Paragraphs networks repeat under every post: calls to action, campaign calls,
/// signatures, footers and share lines (the templated mode's pool).
const SHARED_ES: &[&str] = &[
    "Las organizaciones firmantes exigimos garantías para la vida, la integridad y la libertad de las personas defensoras de derechos humanos y de sus familias, así como el cese inmediato del hostigamiento en su contra.",
    "Invitamos a difundir esta acción urgente y a enviar cartas a las autoridades señaladas, con copia a nuestra organización, para exigir una investigación pronta, exhaustiva e imparcial de los hechos.",
    "Se convoca a una jornada de solidaridad el próximo viernes a las 17:00 horas frente a la Secretaría de Gobernación y en las embajadas de México en Centroamérica y Europa.",
    "Recordamos que el Estado mexicano está obligado a adoptar medidas de protección eficaces conforme a la Ley para la Protección de Personas Defensoras de Derechos Humanos y Periodistas.",
    "Red Nacional de Organismos Civiles de Derechos Humanos «Todos los Derechos para Todas y Todos», integrada por 87 organizaciones en 23 estados de la República mexicana.",
    "Si deseas recibir nuestras acciones urgentes y boletines en tu correo, suscríbete desde nuestro sitio; tu apoyo económico sostiene el acompañamiento a las comunidades.",
    "Las y los defensores comunitarios han denunciado durante años el despojo de sus tierras, la contaminación de sus ríos y la presencia de grupos armados que operan con total impunidad en la región.",
    "Exigimos a la Fiscalía General de la República y a las fiscalías estatales que investiguen con debida diligencia, que sancionen a los responsables materiales e intelectuales y que garanticen la reparación integral del daño.",
];
const SHARED_EN: &[&str] = &[
    "Please write to the authorities listed below, urging them to guarantee the safety of the defenders and their families and to carry out a prompt, thorough and impartial investigation.",
    "This urgent action was issued by the solidarity network and its member organizations in Mexico, Guatemala, Honduras and El Salvador; please share it widely with your contacts.",
    "Our organizations will hold a day of solidarity outside Mexican consulates next Friday; find the nearest action and the sample letter on our website.",
    "The network accompanies indigenous and peasant communities defending their land, water and territory against mining, dams and militarization across Mesoamerica.",
];

/// Feed number `n`: deterministic, about 60 KB.
fn feed(n: usize, mode: Mode) -> String {
    match mode {
        Mode::Unique => unique_feed(n),
        Mode::Templated => templated_feed(n),
    }
}

/// The story item `i` of feed `n` tells: about one item in 33 re-posts the same-numbered
/// item of the next organization (a real cross-post); the rest are the feed's own.
fn story_of(n: usize, i: usize) -> (usize, usize) {
    if (n * 31 + i).is_multiple_of(33) {
        (n + 1, i)
    } else {
        (n, i)
    }
}

const CHANNEL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" \
    xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">";

/// Every story's text differs: words drawn at random per story.
fn unique_feed(n: usize) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = writeln!(
        out,
        "{CHANNEL}<channel><title>Organización {n}</title><link>https://org{n}.example.org/</link>\
         <description>Noticias y acciones urgentes / News and urgent actions</description><language>es-MX</language>"
    );
    for i in 0..ITEMS {
        let story = story_of(n, i);
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

/// Networks' posts: each item its own title and one sentence of facts; the rest of its
/// body from the shared pools, so items of one feed share most of their text.
fn templated_feed(n: usize) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = writeln!(
        out,
        "{CHANNEL}<channel><title>Red {n}</title><link>https://red{n}.example.org/</link>\
         <description>Acciones urgentes y boletines / Urgent actions and bulletins</description><language>es-MX</language>"
    );
    for i in 0..ITEMS {
        let story = story_of(n, i);
        let repost = story != (n, i);
        let facts = text(story, 0, ES, 24);
        let place = text(story, 1, ES, 6);
        let title = format!(
            "{}Acción urgente: {}",
            if repost { "Difundimos | " } else { "" },
            place.trim_end_matches('.')
        );
        let pick = |k: usize, pool: &[&'static str]| pool[(n * 7 + i * 3 + k * 5) % pool.len()];
        let day = 1 + (n + i) % 28;
        let lead = if repost {
            format!("Compartimos la acción urgente de la Red {}. ", story.0)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "<item><title>{title}</title>\
             <link>https://red{n}.example.org/2026/11/{day:02}/accion-{i}/</link>\
             <guid isPermaLink=\"false\">https://red{n}.example.org/?p={i}</guid>\
             <pubDate>Fri, {day:02} Nov 2026 1{h}:30:00 +0000</pubDate><dc:creator>Comunicación</dc:creator>\
             <category>Acción urgente</category>\
             <description><![CDATA[{lead}{facts} {first} [&#8230;]]]></description>\
             <content:encoded><![CDATA[<p><strong>Acción urgente.</strong> {lead}{facts}</p>",
            h = i % 10,
            first = pick(0, SHARED_ES),
        );
        for k in 0..3 {
            let _ = writeln!(out, "<p>{}</p>", pick(k, SHARED_ES));
        }
        let _ = writeln!(
            out,
            "<p lang=\"en\">{}</p><p>{}</p>\
             <p><a href=\"https://red{n}.example.org/firma\">Firma la petición / Sign the petition</a> · \
             Comparte en Facebook · Twitter · WhatsApp</p>\
             <p><a href=\"/2026/11/{day:02}/accion-{i}/\">Leer más / Read more</a></p>\
             ]]></content:encoded></item>",
            pick(1, SHARED_EN),
            pick(4, SHARED_ES),
        );
    }
    out.push_str("</channel></rss>\n");
    out
}
