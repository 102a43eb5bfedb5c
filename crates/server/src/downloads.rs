//! What the control plane serves without a signature, all of it public and none of it state:
//! `/health`, the agent's install script (`/install.sh`, with the address the client reached
//! this server at filled in) and the Homeport binary itself (`/download/homeport`, the running
//! executable, so an installed agent is the version of its control plane).

use aws_protocol::sigv4::HttpRequest;

use crate::pipeline::Reply;

/// The install script, with `@HOMEPORT_ENDPOINT@` where the endpoint goes.
const INSTALL_SCRIPT: &str = include_str!("../../../packaging/install.sh");

fn reply(status: u16, content_type: &'static str, request_id: &str, body: Vec<u8>) -> Reply {
    Reply { status, content_type, request_id: request_id.to_owned(), body }
}

/// The answer to a public `GET`, or `None` for any other path.
pub fn serve(request: &HttpRequest<'_>, request_id: &str) -> Option<Reply> {
    match request.path {
        "/health" => Some(reply(200, "application/json", request_id, b"{\"status\":\"ok\"}".to_vec())),
        "/install.sh" => {
            // The address the client used is the one the agent can reach us at.
            let host = request.header("host").filter(|host| {
                !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || ".:-[]".contains(c))
            });
            let Some(host) = host else {
                return Some(reply(
                    400,
                    "text/plain",
                    request_id,
                    b"a Host header naming this server is needed\n".to_vec(),
                ));
            };
            let script = INSTALL_SCRIPT.replace("@HOMEPORT_ENDPOINT@", &format!("http://{host}"));
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
