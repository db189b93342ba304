//! The API's description, generated from the same call registry that
//! the pipeline uses, so it cannot drift from what runs: the OpenAPI 3.1 document
//! at `/api/openapi.json`, which `crate::docs_page` renders as `/api/docs`.

use serde_json::{Map, Value, json};

use crate::calls::{Access, CallSpec, Kind, Param, ParamInfo, Registry, param::parse};

/// A value to show in `call`'s example for a parameter. Run in the order
/// `/api/docs` shows them, the examples all succeed on a fresh server (a test
/// runs them so): an id is the one the page's own create example answers.
fn example(call: &str, param: &dyn ParamInfo) -> String {
    let area = call.split('/').next().unwrap_or(call);
    let by_name = match param.name() {
        // Plan 1, customer 1 and person 1 are made at first start; roles 1-4 are built in.
        "id" if ["plans", "customers", "people"].contains(&area) => "2",
        "id" | "role" if area == "roles" => "5",
        "code" => "100",
        "dtype" => "phone",
        "dnumber" => "1234567",
        "start" | "number" => "2125550000",
        "end" => "2125559999",
        "name" => "Example",
        "email" => "ops@example.com",
        "username" => "alice",
        "password" => "Secret-Passw0rd",
        "feature" => "codes",
        "privilege" => "user",
        "access" => "1",
        "ingroup" => "1",
        "amount" => "10",
        _ => "",
    };
    if !by_name.is_empty() {
        return by_name.to_string();
    }
    match param.kind() {
        Kind::Integer | Kind::Flag => "1".into(),
        Kind::Text => "example".into(),
    }
}

fn schema(param: &dyn ParamInfo) -> Value {
    let mut schema = match param.kind() {
        Kind::Integer => json!({ "type": "integer", "format": "int64" }),
        Kind::Flag => json!({ "type": "integer", "enum": [0, 1] }),
        Kind::Text => json!({ "type": "string" }),
    };
    if let Some(default) = param.default_value() {
        schema["default"] = default;
    }
    schema
}

/// The documentation, and a default the call decides, in words.
fn description(param: &dyn ParamInfo) -> String {
    match param.default_words() {
        Some(words) if !words.is_empty() => format!("{} Default: {words}", param.doc()),
        _ => param.doc().to_string(),
    }
}

const AUTH_USERNAME: Param<String> =
    Param::required("auth_username", Kind::Text, "Authentication username (or use HTTP Basic).", parse::text);
const AUTH_PASSWORD: Param<String> =
    Param::required("auth_password", Kind::Text, "Authentication password (or use HTTP Basic).", parse::text);
const CREDENTIALS: [&dyn ParamInfo; 2] = [&AUTH_USERNAME, &AUTH_PASSWORD];

fn all_params(spec: &CallSpec) -> Vec<&'static dyn ParamInfo> {
    let credentials: &[&dyn ParamInfo] = match spec.access {
        Access::Public => &[],
        Access::Requires { .. } => &CREDENTIALS,
    };
    credentials.iter().copied().chain(spec.all_params()).collect()
}

/// Optional parameters an example still gives: without them the call has
/// nothing to act on, or acts on the caller's own login.
const EXAMPLE_OPTIONAL: [(&str, &str); 2] = [("numbers/system/delete", "number"), ("people/password", "id")];

/// A copy-paste curl example with the call's required parameters.
pub fn curl_example(spec: &CallSpec) -> String {
    let mut pairs: Vec<String> = Vec::new();
    if let Access::Requires { .. } = spec.access {
        pairs.push("auth_username=admin".into());
        pairs.push("auth_password=PASSWORD".into());
    }
    for param in spec.params.iter().filter(|p| p.required() || EXAMPLE_OPTIONAL.contains(&(spec.name, p.name()))) {
        pairs.push(format!("{}={}", param.name(), example(spec.name, *param)));
    }
    let query = if pairs.is_empty() { String::new() } else { format!("?{}", pairs.join(";")) };
    format!("curl 'http://127.0.0.1:8080/api/json/{}/{query}'", spec.name)
}

fn operation(spec: &CallSpec, method: &str) -> Value {
    let params = all_params(spec);
    let (privileges, writes) = match spec.access {
        Access::Public => (Vec::new(), false),
        Access::Requires { any_of, writes } => (any_of.iter().map(|p| p.as_str()).collect(), writes),
    };
    let mut op = json!({
        "operationId": format!("{}_{method}", spec.name.replace('/', "_")),
        "summary": spec.summary,
        "tags": [spec.name.split('/').next().unwrap_or(spec.name)],
        "x-switchyard-privileges": privileges,
        "x-switchyard-writes": writes,
        "x-switchyard-example": curl_example(spec),
        "responses": {
            "200": { "description": "The envelope: codes 200, 201, 204, 400-404 ride on HTTP 200 (http_status = \"enswitch\").",
                     "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Envelope" } } } },
            "404": { "description": "Unknown call." },
            "405": { "description": "A method other than GET or POST." },
            "413": { "description": "Request body over max_body_bytes." },
            "500": { "description": "Server failure; nothing was written." },
            "503": { "description": "Database unavailable or too many calls in flight." },
        },
    });
    if method == "get" {
        op["parameters"] = Value::Array(
            params
                .iter()
                .map(|p| {
                    json!({ "name": p.name(), "in": "query", "required": p.required(),
                            "description": description(*p), "schema": schema(*p) })
                })
                .collect(),
        );
    } else {
        let properties: Map<String, Value> = params
            .iter()
            .map(|p| {
                let mut s = schema(*p);
                s["description"] = description(*p).into();
                (p.name().to_string(), s)
            })
            .collect();
        let required: Vec<&str> = params.iter().filter(|p| p.required()).map(|p| p.name()).collect();
        let body = json!({ "type": "object", "properties": properties, "required": required });
        op["requestBody"] = json!({ "content": {
            "application/x-www-form-urlencoded": { "schema": body },
            "multipart/form-data": { "schema": body },
            "application/json": { "schema": body },
        } });
    }
    if !privileges.is_empty() {
        op["security"] = json!([{ "basic": [] }, {}]);
    }
    op
}

/// The OpenAPI 3.1 document of every call.
pub fn document(calls: &Registry) -> Value {
    let paths: Map<String, Value> = calls
        .all()
        .into_iter()
        .map(|spec| {
            (
                format!("/api/json/{}", spec.name),
                json!({ "get": operation(spec, "get"), "post": operation(spec, "post") }),
            )
        })
        .collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Switchyard",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "A provisioning API server that speaks the Enswitch JSON API. Parameters may be separated by ';' or '&'; credentials go in auth_username/auth_password or HTTP Basic.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": { "basic": { "type": "http", "scheme": "basic" } },
            "schemas": {
                "Envelope": {
                    "type": "object",
                    "required": ["responses"],
                    "properties": {
                        "responses": { "type": "array", "items": {
                            "type": "object",
                            "required": ["code", "key", "message"],
                            "properties": {
                                "code": { "type": "string", "description": "Three digits: 200, 201, 204, 400, 401, 402, 403, 404, ..." },
                                "key": { "type": "string", "description": "The parameter at fault, or empty." },
                                "message": { "type": "string" },
                            },
                        } },
                        "data": { "description": "Present only when the call returns data." },
                    },
                },
            },
        },
    })
}
