//! Virtual MFA devices and the sessions made with them, in process: the device's life (made,
//! enabled with two consecutive codes, listed, tagged, refused while in use, deactivated,
//! deleted), codes computed here from the seed the server returned (RFC 6238), a code never
//! accepted twice, and `aws:MultiFactorAuthPresent` / `aws:MultiFactorAuthAge` through the
//! policy engine (absent for long-term keys, false for a session without MFA).

use base64::Engine;

use crate::support::{Case, Key, TestServer, iam, logs, sts, unique};

crate::support::on_both_stores!(
    a_virtual_device_lives_as_aws_says,
    mfa_sessions_carry_the_condition_keys,
    a_trust_policy_may_require_mfa
);

/// A virtual MFA device just made: its serial number and its seed.
pub struct Device {
    pub serial: String,
    pub seed: Vec<u8>,
}

fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut buffer, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for ch in text.bytes() {
        let value = ALPHABET.iter().position(|&c| c == ch).unwrap() as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// The code of `seed` at time step `step` (RFC 6238, SHA-1, 6 digits), computed here.
pub fn totp(seed: &[u8], step: i64) -> String {
    use aws_lc_rs::hmac;
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, seed);
    let tag = hmac::sign(&key, &step.to_be_bytes());
    let digest = tag.as_ref();
    let offset = (digest[19] & 0x0f) as usize;
    let word = u32::from_be_bytes(digest[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff;
    format!("{:06}", word % 1_000_000)
}

/// The current time step.
pub fn step_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64 / 30
}

/// Makes a virtual device named `name` as root.
pub fn create_device(server: &TestServer, name: &str) -> Device {
    let answer = server.iam(&server.root, "CreateVirtualMFADevice", &[("VirtualMFADeviceName", name)]).ok();
    let base64 = base64::engine::general_purpose::STANDARD;
    let seed_text = base64.decode(answer.xml("Base32StringSeed")).unwrap();
    let seed_text = String::from_utf8(seed_text).unwrap();
    assert_eq!(seed_text.len(), 64, "a 64-character base-32 seed, as AWS's");
    let png = base64.decode(answer.xml("QRCodePNG")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    Device { serial: answer.xml("SerialNumber"), seed: base32_decode(&seed_text) }
}

/// Makes a device and enables it for `user` with two consecutive codes from a few steps back
/// (as a person typing them late would), leaving the codes of now and later unused.
pub fn device_of(server: &TestServer, user: &str) -> Device {
    let device = create_device(server, &unique("mfa"));
    let first = step_now() - 6;
    server
        .iam(
            &server.root,
            "EnableMFADevice",
            &[
                ("UserName", user),
                ("SerialNumber", &device.serial),
                ("AuthenticationCode1", &totp(&device.seed, first)),
                ("AuthenticationCode2", &totp(&device.seed, first + 1)),
            ],
        )
        .ok();
    device
}

fn session_of(answer: &crate::support::Response) -> Key {
    Key {
        id: answer.xml("AccessKeyId"),
        secret: answer.xml("SecretAccessKey"),
        token: Some(answer.xml("SessionToken")),
    }
}

fn a_virtual_device_lives_as_aws_says(server: &TestServer) {
    let root = &server.root;
    let name = unique("phone");
    let device = create_device(server, &name);
    assert_eq!(device.serial, format!("arn:aws:iam::{}:mfa/{name}", server.account_id));
    let user = unique("mfauser");
    server.iam(root, "CreateUser", &[("UserName", &user)]).ok();
    let other = unique("mfaother");
    server.iam(root, "CreateUser", &[("UserName", &other)]).ok();
    let now = step_now();
    let enable = |user: &str, first: &str, second: &str| {
        iam(
            "EnableMFADevice",
            &[
                ("UserName", user),
                ("SerialNumber", &device.serial),
                ("AuthenticationCode1", first),
                ("AuthenticationCode2", second),
            ],
        )
    };
    let (code1, code2) = (totp(&device.seed, now - 1), totp(&device.seed, now));
    let serial = device.serial.as_str();
    server.run(&[
        Case::error(
            "the same name again",
            root,
            iam("CreateVirtualMFADevice", &[("VirtualMFADeviceName", &name)]),
            409,
            "EntityAlreadyExists",
            "MFADevice entity at the same path and name already exists.",
        ),
        Case::error(
            "codes in the wrong order",
            root,
            enable(&user, &code2, &code1),
            403,
            "InvalidAuthenticationCode",
            "Authentication code for device is not valid.",
        ),
        Case::error(
            "a device nobody made",
            root,
            iam(
                "EnableMFADevice",
                &[
                    ("UserName", &user),
                    ("SerialNumber", &format!("{serial}x")),
                    ("AuthenticationCode1", "123456"),
                    ("AuthenticationCode2", "123456"),
                ],
            ),
            404,
            "NoSuchEntity",
            "doesn't exist",
        ),
        Case::ok("two consecutive codes", root, enable(&user, &code1, &code2)),
        Case::error(
            "a device in use",
            root,
            enable(&other, &totp(&device.seed, now + 1), &totp(&device.seed, now + 2)),
            409,
            "EntityAlreadyExists",
            "MFA Device is already in use.",
        ),
        Case::ok("the user's devices", root, iam("ListMFADevices", &[("UserName", &user)]))
            .xml("SerialNumber", serial)
            .xml("UserName", &user),
        Case::ok("another user has none", root, iam("ListMFADevices", &[("UserName", &other)]))
            .xml_count("SerialNumber", 0),
        Case::ok(
            "assigned devices name their user",
            root,
            iam("ListVirtualMFADevices", &[("AssignmentStatus", "Assigned")]),
        )
        .contains(format!("<SerialNumber>{serial}</SerialNumber>\n<User>"))
        .contains(format!("<UserName>{user}</UserName>")),
        Case::ok(
            "as GetMFADevice answers a virtual device",
            root,
            iam("GetMFADevice", &[("UserName", &user), ("SerialNumber", serial)]),
        )
        .xml("UserName", &user)
        .xml("SerialNumber", serial),
        Case::error(
            "not the other user's",
            root,
            iam("GetMFADevice", &[("UserName", &other), ("SerialNumber", serial)]),
            404,
            "NoSuchEntity",
            "",
        ),
        Case::error(
            "not deleted while in use",
            root,
            iam("DeleteVirtualMFADevice", &[("SerialNumber", serial)]),
            409,
            "DeleteConflict",
            "MFA device is still in use.",
        ),
        Case::error(
            "its user is not deleted",
            root,
            iam("DeleteUser", &[("UserName", &user)]),
            409,
            "DeleteConflict",
            "Cannot delete entity, must delete MFA device first.",
        ),
        Case::ok(
            "an assigned device is not unassigned",
            root,
            iam("ListVirtualMFADevices", &[("AssignmentStatus", "Any")]),
        )
        .contains(format!("<SerialNumber>{serial}</SerialNumber>\n<User>")),
        Case::ok(
            "tagged",
            root,
            iam(
                "TagMFADevice",
                &[("SerialNumber", serial), ("Tags.member.1.Key", "owner"), ("Tags.member.1.Value", "ops")],
            ),
        ),
        Case::ok("its tags", root, iam("ListMFADeviceTags", &[("SerialNumber", serial)])).xml("Key", "owner"),
        Case::ok("untagged", root, iam("UntagMFADevice", &[("SerialNumber", serial), ("TagKeys.member.1", "owner")])),
        Case::ok("no tags left", root, iam("ListMFADeviceTags", &[("SerialNumber", serial)])).xml_count("Key", 0),
        Case::error(
            "resynchronized only with valid codes",
            root,
            iam(
                "ResyncMFADevice",
                &[
                    ("UserName", &user),
                    ("SerialNumber", serial),
                    ("AuthenticationCode1", "000000"),
                    ("AuthenticationCode2", "000000"),
                ],
            ),
            403,
            "InvalidAuthenticationCode",
            "Authentication code for device is not valid.",
        ),
        Case::ok("deactivated", root, iam("DeactivateMFADevice", &[("UserName", &user), ("SerialNumber", serial)])),
        Case::ok("then unassigned", root, iam("ListMFADevices", &[("UserName", &user)])).xml_count("SerialNumber", 0),
        Case::ok("deleted", root, iam("DeleteVirtualMFADevice", &[("SerialNumber", serial)])),
        Case::error("gone", root, iam("ListMFADeviceTags", &[("SerialNumber", serial)]), 404, "NoSuchEntity", ""),
        Case::ok("its user may go", root, iam("DeleteUser", &[("UserName", &user)])),
    ]);
    let unassigned = server.iam(root, "ListVirtualMFADevices", &[("AssignmentStatus", "Unassigned")]).ok();
    assert!(!unassigned.body.contains(&format!("<SerialNumber>{serial}</SerialNumber>")), "deleted devices are gone");
    let fresh = create_device(server, &unique("spare"));
    let unassigned = server.iam(root, "ListVirtualMFADevices", &[("AssignmentStatus", "Unassigned")]).ok();
    assert!(unassigned.body.contains(&format!("<SerialNumber>{}</SerialNumber>", fresh.serial)), "{}", unassigned.body);
    let assigned = server.iam(root, "ListVirtualMFADevices", &[("AssignmentStatus", "Assigned")]).ok();
    assert!(!assigned.body.contains(&fresh.serial), "an unassigned device is not assigned");
}

const MFA_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":["sts:*","iam:ListMFADevices"],"Resource":"*"},
  {"Effect":"Allow","Action":"logs:DescribeLogGroups","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}},
  {"Effect":"Allow","Action":"iam:ListUsers","Resource":"*","Condition":{"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}}},
  {"Effect":"Allow","Action":"iam:ListRoles","Resource":"*","Condition":{"NumericLessThan":{"aws:MultiFactorAuthAge":"0"}}},
  {"Effect":"Allow","Action":"logs:DescribeLogStreams","Resource":"*","Condition":{"Null":{"aws:MultiFactorAuthPresent":"true"}}}
]}"#;

fn mfa_sessions_carry_the_condition_keys(server: &TestServer) {
    let name = unique("mfasession");
    let key = server.user_with_policy(&name, Some(MFA_POLICY));
    let device = device_of(server, &name);
    let now = step_now();
    let code = totp(&device.seed, now);
    let mfa = [("SerialNumber", device.serial.as_str()), ("TokenCode", code.as_str())];
    let with_mfa = session_of(&server.sts(&key, "GetSessionToken", &mfa).ok());
    let without_mfa = session_of(&server.sts(&key, "GetSessionToken", &[]).ok());
    let groups = logs("DescribeLogGroups", serde_json::json!({}));
    let streams = logs("DescribeLogStreams", serde_json::json!({"logGroupName": "none"}));
    server.run(&[
        Case::denied(
            "a code is accepted once",
            &key,
            sts("GetSessionToken", &mfa),
            "MultiFactorAuthentication failed with invalid MFA one time pass code.",
        ),
        Case::denied(
            "a wrong code",
            &key,
            sts("GetSessionToken", &[("SerialNumber", &device.serial), ("TokenCode", "000000")]),
            "MultiFactorAuthentication failed with invalid MFA one time pass code.",
        ),
        Case::ok("MFA present: allowed", &with_mfa, groups.clone()),
        Case::denied("a session without MFA: the key is false", &without_mfa, groups.clone(), "logs:DescribeLogGroups"),
        Case::denied("long-term keys: the key is absent", &key, groups.clone(), "logs:DescribeLogGroups"),
        // Allowed, so the missing group is what is answered.
        Case::error(
            "long-term keys define no MFA key (Null)",
            &key,
            streams.clone(),
            400,
            "ResourceNotFoundException",
            "",
        ),
        Case::denied("a session defines it", &without_mfa, streams.clone(), "logs:DescribeLogStreams"),
        Case::ok("an MFA session may call IAM, its age under an hour", &with_mfa, iam("ListUsers", &[])),
        Case::denied("and its age is not below zero", &with_mfa, iam("ListRoles", &[]), "iam:ListRoles"),
        Case::error(
            "a session without MFA may not call IAM",
            &without_mfa,
            iam("ListUsers", &[]),
            403,
            "InvalidClientTokenId",
            "",
        ),
    ]);
}

fn a_trust_policy_may_require_mfa(server: &TestServer) {
    let root = &server.root;
    let name = unique("mfaassumer");
    let key = server.user_with_policy(&name, Some(crate::support::ALLOW_ALL));
    let device = device_of(server, &name);
    let role = unique("mfarole");
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{}"}},"Action":"sts:AssumeRole","Condition":{{"Bool":{{"aws:MultiFactorAuthPresent":"true"}}}}}}]}}"#,
        server.user_arn(&name)
    );
    server.iam(root, "CreateRole", &[("RoleName", &role), ("AssumeRolePolicyDocument", &trust)]).ok();
    let only_with_mfa = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}"#;
    server
        .iam(root, "PutRolePolicy", &[("RoleName", &role), ("PolicyName", "p"), ("PolicyDocument", only_with_mfa)])
        .ok();
    let role_arn = format!("arn:aws:iam::{}:role/{role}", server.account_id);
    let code = totp(&device.seed, step_now());
    let assume = |extra: &[(&str, &str)]| {
        let mut params = vec![("RoleArn", role_arn.as_str()), ("RoleSessionName", "mfa")];
        params.extend_from_slice(extra);
        sts("AssumeRole", &params)
    };
    server.run(&[Case::denied("without a code", &key, assume(&[]), "is not authorized to perform: sts:AssumeRole")]);
    let session = session_of(
        &server
            .sts(
                &key,
                "AssumeRole",
                &[
                    ("RoleArn", &role_arn),
                    ("RoleSessionName", "mfa"),
                    ("SerialNumber", &device.serial),
                    ("TokenCode", &code),
                ],
            )
            .ok(),
    );
    server.run(&[
        Case::denied(
            "nor with the code again",
            &key,
            assume(&[("SerialNumber", &device.serial), ("TokenCode", &code)]),
            "sts:AssumeRole",
        ),
        Case::ok("the role session carries MFA", &session, iam("ListUsers", &[])),
        Case::denied(
            "root still may not assume roles",
            root,
            assume(&[]),
            "Roles may not be assumed by root accounts.",
        ),
    ]);
}
