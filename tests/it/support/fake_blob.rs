//! A fake Blob Storage endpoint on 127.0.0.1 serving one blob, for the answers Azurite never
//! gives: a blob whose announced size is not what its ranges deliver, and 401 for a SAS.
//!
//! `HEAD` answers the blob's properties (with `announced` as its `Content-Length`); `GET` with
//! a `Range`/`x-ms-range` answers 206 with the bytes it has of that range and a
//! `Content-Range` out of `announced`. With [`Mode::Unauthorized`], every request gets 401
//! `NoAuthenticationInformation`, as Blob Storage answers a request it cannot authenticate.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

/// How the fake answers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Properties say `announced` bytes; ranges deliver what there is.
    Sized { announced: u64 },
    /// 401 to everything.
    Unauthorized,
}

/// A running fake blob endpoint; its blob is at [`FakeBlob::url`].
pub struct FakeBlob {
    pub port: u16,
}

impl FakeBlob {
    pub fn start(data: Vec<u8>, mode: Mode) -> FakeBlob {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let data = data.clone();
                std::thread::spawn(move || serve(conn, &data, mode));
            }
        });
        FakeBlob { port }
    }

    /// The blob's URL, without a SAS (path-style, as for Azurite).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/devstoreaccount1/c/blob.cap", self.port)
    }
}

fn serve(mut conn: TcpStream, data: &[u8], mode: Mode) {
    let mut buf = Vec::new();
    loop {
        let head_end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p;
            }
            let mut chunk = [0u8; 4096];
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        buf.drain(..head_end + 4);
        let method = head.split(' ').next().unwrap_or("").to_string();
        let header = |name: &str| {
            head.lines().skip(1).find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_string())
            })
        };
        let common = "x-ms-version: 2025-11-05\r\nx-ms-request-id: fake\r\nETag: \"0x8DD00000000001\"\r\nLast-Modified: Thu, 04 Dec 2026 10:00:00 GMT\r\nx-ms-blob-type: BlockBlob\r\nx-ms-creation-time: Thu, 04 Dec 2026 10:00:00 GMT\r\nAccept-Ranges: bytes\r\nContent-Type: application/octet-stream\r\n";
        let (status, extra, body): (&str, String, &[u8]) = match mode {
            Mode::Unauthorized => (
                "401 Server failed to authenticate the request",
                "x-ms-error-code: NoAuthenticationInformation\r\n".into(),
                b"",
            ),
            Mode::Sized { announced } if method == "HEAD" => {
                ("200 OK", format!("Content-Length: {announced}\r\n"), b"")
            }
            Mode::Sized { announced } => {
                let range = header("x-ms-range").or_else(|| header("range"));
                let (from, to) = range
                    .as_deref()
                    .and_then(|r| r.strip_prefix("bytes="))
                    .and_then(|r| r.split_once('-'))
                    .map(|(a, b)| {
                        let a: u64 = a.parse().unwrap_or(0);
                        let b: u64 = b.parse().unwrap_or(announced - 1);
                        (a, b.min(announced - 1))
                    })
                    .unwrap_or((0, announced - 1));
                let have = data.len() as u64;
                let end = (to + 1).min(have);
                let part = &data[(from.min(have)) as usize..end.max(from.min(have)) as usize];
                (
                    "206 Partial Content",
                    format!(
                        "Content-Range: bytes {from}-{}/{announced}\r\n",
                        from + part.len().max(1) as u64 - 1
                    ),
                    part,
                )
            }
        };
        let mut out = format!("HTTP/1.1 {status}\r\n{common}{extra}");
        if method != "HEAD" || matches!(mode, Mode::Unauthorized) {
            out.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        if method != "HEAD" {
            bytes.extend_from_slice(body);
        }
        if conn.write_all(&bytes).is_err() {
            return;
        }
    }
}
