//! Headless Chromium driven through chromedriver's WebDriver API: plain HTTP and JSON on a
//! loopback port, spoken over a `TcpStream` (no client crate, nothing beyond 127.0.0.1).
//! Debian's `chromium` and `chromium-driver` packages (`.ci/browser.sh install`).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The flags Chromium needs as root in a container, and to stay off the network.
const FLAGS: [&str; 10] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
];

/// A chromedriver and one browser session, both ended on drop.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    profile: PathBuf,
}

fn program(name: &str, fallbacks: &[&str]) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .chain(fallbacks.iter().map(PathBuf::from))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} not found: install Debian's chromium and chromium-driver (.ci/browser.sh install)")
        })
}

impl Browser {
    pub fn start() -> Browser {
        let chromium = program("chromium", &["/usr/lib/chromium/chromium"]);
        let chromedriver = program("chromedriver", &["/usr/lib/chromium/chromedriver"]);
        // A free port: bound and released; chromedriver takes it a moment later.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a loopback port")
            .port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile =
            std::env::temp_dir().join(format!("racecount-chromium-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&profile).unwrap();
        let mut browser = Browser {
            driver,
            port,
            session: String::new(),
            profile,
        };
        let ready = Instant::now();
        while browser.try_call("GET", "/status", None).is_err() {
            assert!(
                ready.elapsed() < Duration::from_secs(20),
                "chromedriver did not answer"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut args: Vec<String> = FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", browser.profile.display()));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let created = browser.call("POST", "/session", Some(&capabilities));
        browser.session = created["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string();
        browser
    }

    /// One WebDriver command; its `value`, or the error's message.
    fn try_call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .unwrap();
        let body = body.map(Value::to_string).unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json; \
             charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )
        .map_err(|e| e.to_string())?;
        let (head, payload) = read_answer(&mut stream)?;
        let value: Value = serde_json::from_slice(&payload).map_err(|e| e.to_string())?;
        if !head.starts_with("http/1.1 200") {
            return Err(format!("{method} {path}: {}", value["value"]));
        }
        Ok(value["value"].clone())
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        self.try_call(method, path, body)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn session_call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    pub fn open(&self, file: &Path) {
        let url = format!("file://{}", file.canonicalize().unwrap().display());
        self.session_call("POST", "/url", Some(&json!({ "url": url })));
    }

    /// Runs `body` as a function in the page and returns what it returns.
    pub fn script(&self, body: &str) -> Value {
        self.session_call(
            "POST",
            "/execute/sync",
            Some(&json!({"script": body, "args": []})),
        )
    }

    /// Runs `body`, which calls `done(value)` (the last argument) when it is finished.
    pub fn script_async(&self, body: &str) -> Value {
        let script = format!("const done = arguments[arguments.length - 1]; {body}");
        self.session_call(
            "POST",
            "/execute/async",
            Some(&json!({"script": script, "args": []})),
        )
    }

    /// The WebDriver id of the element `css` names.
    fn element(&self, css: &str) -> String {
        let found = self.session_call(
            "POST",
            "/element",
            Some(&json!({"using": "css selector", "value": css})),
        );
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .expect("an element id")
            .to_string()
    }

    /// Types `keys` (WebDriver key codes: "\u{E014}" is →) into the element `css` names.
    pub fn keys(&self, css: &str, keys: &str) {
        let id = self.element(css);
        self.session_call(
            "POST",
            &format!("/element/{id}/value"),
            Some(&json!({ "text": keys })),
        );
    }

    /// A PNG of the element `css` names, scrolled into view.
    pub fn element_screenshot(&self, css: &str) -> Vec<u8> {
        use base64::Engine;
        let id = self.element(css);
        let text = self.session_call("GET", &format!("/element/{id}/screenshot"), None);
        base64::engine::general_purpose::STANDARD
            .decode(text.as_str().unwrap())
            .unwrap()
    }

    /// The browser's console since the last call: (level, message).
    pub fn console(&self) -> Vec<(String, String)> {
        let entries = self.session_call("POST", "/se/log", Some(&json!({"type": "browser"})));
        entries
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["level"].as_str().unwrap_or("").to_string(),
                    e["message"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    /// Emulates a CSS media type ("print", "screen") and features ("prefers-color-scheme").
    pub fn emulate(&self, media: &str, features: Value) {
        let params = json!({"media": media, "features": features});
        self.session_call(
            "POST",
            "/goog/cdp/execute",
            Some(&json!({"cmd": "Emulation.setEmulatedMedia", "params": params})),
        );
    }

    /// A PNG of the window.
    pub fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let text = self.session_call("GET", "/screenshot", None);
        base64::engine::general_purpose::STANDARD
            .decode(text.as_str().unwrap())
            .unwrap()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.try_call("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// An HTTP answer's header (lowercased) and body. chromedriver keeps the connection open
/// whatever the request says, so the body is read to its length, not to the end.
fn read_answer(stream: &mut TcpStream) -> Result<(String, Vec<u8>), String> {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 65536];
    let mut more = |answer: &mut Vec<u8>| -> Result<(), String> {
        let n = stream.read(&mut buffer).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the connection closed early".into());
        }
        answer.extend_from_slice(&buffer[..n]);
        Ok(())
    };
    let split = loop {
        if let Some(at) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        more(&mut answer)?;
    };
    let head = String::from_utf8_lossy(&answer[..split]).to_lowercase();
    let start = split + 4;
    if let Some(length) = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|l| l.trim().parse::<usize>().ok())
    {
        while answer.len() < start + length {
            more(&mut answer)?;
        }
        return Ok((head, answer[start..start + length].to_vec()));
    }
    // Chunked: size line, chunk, CRLF; a chunk of size 0 ends it.
    let mut body = Vec::new();
    let mut at = start;
    loop {
        let line_end = loop {
            if let Some(p) = answer[at..].windows(2).position(|w| w == b"\r\n") {
                break at + p;
            }
            more(&mut answer)?;
        };
        let size = usize::from_str_radix(String::from_utf8_lossy(&answer[at..line_end]).trim(), 16)
            .map_err(|e| e.to_string())?;
        if size == 0 {
            return Ok((head, body));
        }
        while answer.len() < line_end + 2 + size + 2 {
            more(&mut answer)?;
        }
        body.extend_from_slice(&answer[line_end + 2..line_end + 2 + size]);
        at = line_end + 2 + size + 2;
    }
}

/// Share of the picture's pixels that differ from its top-left pixel (the page background).
pub fn ink(png_bytes: &[u8]) -> f64 {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut pixels).expect("a frame");
    let channels = info.color_type.samples();
    let pixels = &pixels[..info.buffer_size()];
    let background = &pixels[..channels];
    let inked = pixels.chunks(channels).filter(|p| *p != background).count();
    inked as f64 / (pixels.len() / channels) as f64
}
