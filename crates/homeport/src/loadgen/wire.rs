//! HTTP/1.1 on a keep-alive connection, as little of it as a load generator needs: write a
//! request, read one response framed by `Content-Length` (or chunked), whatever its size.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One response: its status and body (the body as text, for showing an error).
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// A connection with its read buffer, reused between requests.
pub struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    pub async fn open(host: &str) -> std::io::Result<Connection> {
        let stream = TcpStream::connect(host).await?;
        stream.set_nodelay(true)?;
        Ok(Connection { stream, buffer: Vec::with_capacity(16 * 1024) })
    }

    /// Sends `request` and reads its response; an error means the connection is unusable.
    pub async fn exchange(&mut self, request: &[u8]) -> Result<Response, String> {
        self.stream.write_all(request).await.map_err(|error| format!("cannot send: {error}"))?;
        self.buffer.clear();
        loop {
            if let Some(framed) = frame(&self.buffer)? {
                return Ok(framed);
            }
            let mut chunk = [0u8; 16 * 1024];
            let read = self.stream.read(&mut chunk).await.map_err(|error| format!("cannot read: {error}"))?;
            if read == 0 {
                return Err("the server closed the connection".to_owned());
            }
            self.buffer.extend_from_slice(chunk.get(..read).unwrap_or_default());
        }
    }
}

/// The response in `bytes` once it is complete; `None` while more must be read.
fn frame(bytes: &[u8]) -> Result<Option<Response>, String> {
    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else { return Ok(None) };
    let head = std::str::from_utf8(bytes.get(..end).unwrap_or_default()).map_err(|_| "a non-UTF-8 header")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .ok_or_else(|| format!("a malformed status line: {}", head.lines().next().unwrap_or_default()))?;
    let header = |wanted: &str| {
        head.lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.trim().to_owned())
    };
    let rest = bytes.get(end + 4..).unwrap_or_default();
    if header("transfer-encoding").is_some_and(|value| value.eq_ignore_ascii_case("chunked")) {
        return Ok(dechunk(rest)?.map(|body| Response { status, body }));
    }
    let length: usize = header("content-length").and_then(|value| value.parse().ok()).unwrap_or(0);
    Ok(rest.get(..length).map(|body| Response { status, body: body.to_vec() }))
}

/// A chunked body once its last chunk has arrived.
fn dechunk(mut rest: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") else { return Ok(None) };
        let size_text = std::str::from_utf8(rest.get(..line_end).unwrap_or_default()).unwrap_or_default();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or_default().trim(), 16)
            .map_err(|_| format!("a malformed chunk size `{size_text}`"))?;
        let data_start = line_end + 2;
        let Some(data) = rest.get(data_start..data_start + size) else { return Ok(None) };
        if rest.len() < data_start + size + 2 {
            return Ok(None);
        }
        if size == 0 {
            return Ok(Some(body));
        }
        body.extend_from_slice(data);
        rest = rest.get(data_start + size + 2..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_framed_once_complete() {
        let full = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\n\r\nhello";
        for cut in 0..full.len() {
            assert!(frame(&full[..cut]).unwrap().is_none(), "cut at {cut}");
        }
        let response = frame(full).unwrap().unwrap();
        assert_eq!((response.status, response.body.as_slice()), (400, &b"hello"[..]));

        let chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        for cut in 0..chunked.len() - 2 {
            assert!(frame(&chunked[..cut]).unwrap().is_none(), "cut at {cut}");
        }
        let response = frame(chunked).unwrap().unwrap();
        assert_eq!((response.status, response.body.as_slice()), (200, &b"abcde"[..]));
        assert!(frame(b"garbage\r\n\r\n").is_err());
    }
}
