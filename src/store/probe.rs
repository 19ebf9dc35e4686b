//! Does a server answer at all? One request, one byte of answer, both within the connect
//! timeout: the clients' own timeouts cover the TCP connect, not a server that accepts and
//! then says nothing (stopped, overloaded, or not the server the URL meant).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// Where a server listens.
pub(super) enum Addr {
    Tcp(String, u16),
    Ip(SocketAddr),
    Unix(PathBuf),
}

/// Sends `request` and waits for the first byte of the answer, each step within `timeout`.
pub(super) fn ask(addr: &Addr, request: &[u8], timeout: Duration) -> Result<(), String> {
    let exchange = |stream: &mut dyn ReadWrite| -> std::io::Result<()> {
        stream.write_all(request)?;
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte)
    };
    let result = match addr {
        Addr::Tcp(host, port) => {
            let ip = (host.as_str(), *port)
                .to_socket_addrs()
                .map_err(|e| format!("cannot resolve {host}: {e}"))?
                .next()
                .ok_or_else(|| format!("cannot resolve {host}: no address"))?;
            tcp(ip, timeout).and_then(|mut s| exchange(&mut s))
        }
        Addr::Ip(ip) => tcp(*ip, timeout).and_then(|mut s| exchange(&mut s)),
        Addr::Unix(path) => UnixStream::connect(path).and_then(|mut s| {
            s.set_read_timeout(Some(timeout))?;
            s.set_write_timeout(Some(timeout))?;
            exchange(&mut s)
        }),
    };
    result.map_err(|e| match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => format!(
            "no answer within {}",
            crate::model::units::format_nanos(timeout.as_nanos() as u64)
        ),
        std::io::ErrorKind::UnexpectedEof => "the server closed the connection".to_string(),
        _ => e.to_string(),
    })
}

/// What a server says unasked to a new connection within `timeout` (up to 256 bytes), if
/// anything: Redis at its `maxclients` says why it refuses the connection, then closes it.
pub(super) fn first_words(addr: &Addr, timeout: Duration) -> Option<String> {
    let mut stream: Box<dyn ReadWrite> = match addr {
        Addr::Tcp(host, port) => {
            let ip = (host.as_str(), *port).to_socket_addrs().ok()?.next()?;
            Box::new(tcp(ip, timeout).ok()?)
        }
        Addr::Ip(ip) => Box::new(tcp(*ip, timeout).ok()?),
        Addr::Unix(path) => {
            let s = UnixStream::connect(path).ok()?;
            s.set_read_timeout(Some(timeout)).ok()?;
            Box::new(s)
        }
    };
    let mut buf = [0u8; 256];
    let n = stream.read(&mut buf).ok()?;
    let text = String::from_utf8_lossy(buf.get(..n)?).trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn tcp(ip: SocketAddr, timeout: Duration) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&ip, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    Ok(stream)
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}
