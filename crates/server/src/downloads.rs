//! What the control plane serves without a signature, all of it public and none of it state:
//! `/health`, the agent's install script (`/install.sh`, with the configured public address
//! filled in, never the request's `Host`, which any client sets as it likes) and the Homeport
//! binary itself (`/download/homeport`, the running executable, so an installed agent is the
//! version of its control plane).

use aws_protocol::sigv4::HttpRequest;

use crate::pipeline::Reply;

/// The install script, with `@HOMEPORT_ENDPOINT@` where the endpoint goes.
const INSTALL_SCRIPT: &str = include_str!("../../../packaging/install.sh");

fn reply(status: u16, content_type: &'static str, request_id: &str, body: Vec<u8>) -> Reply {
    Reply { status, content_type, request_id: request_id.to_owned(), body }
}

/// The answer to a public `GET`, or `None` for any other path.
pub fn serve(request: &HttpRequest<'_>, request_id: &str, public_url: &str) -> Option<Reply> {
    match request.path {
        "/health" => Some(reply(200, "application/json", request_id, b"{\"status\":\"ok\"}".to_vec())),
        "/install.sh" => {
            let script = INSTALL_SCRIPT.replace("@HOMEPORT_ENDPOINT@", public_url);
            Some(reply(200, "text/x-shellscript", request_id, script.into_bytes()))
        }
        "/download/homeport" => Some(match std::env::current_exe().and_then(std::fs::read) {
            Ok(binary) => reply(200, "application/octet-stream", request_id, binary),
            Err(error) => {
                crate::log::event(&format!("cannot read the running executable to serve it: {error}"));
                reply(503, "text/plain", request_id, b"the binary is not available; install it by hand\n".to_vec())
            }
        }),
        _ => None,
    }
}
