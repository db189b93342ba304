//! The API's description, generated from the same call registry that
//! the pipeline uses, so it cannot drift from what runs: the OpenAPI 3.1 document
//! at `/api/openapi.json`, which `crate::docs_page` renders as `/api/docs`.

use serde_json::{Map, Value, json};

use crate::calls::{Access, Answer, CallSpec, Kind, ParamInfo, Registry, Shape};

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
    match (param.kind(), param.shape()) {
        // A flag limited to a range is limited to its words: an unsupported flag takes 0 only.
        (Kind::Flag, Shape::Range { min, max }) => {
            schema["enum"] = (0..=1).filter(|v| (min..=max).contains(v)).collect::<Vec<i64>>().into();
        }
        (_, shape) => {
            for (keyword, value) in shape.keywords() {
                schema[keyword] = value;
            }
        }
    }
    // Sent empty, a required parameter counts as not sent.
    if param.kind() == Kind::Text && param.required() && !param.empty_allowed() && schema.get("pattern").is_none() {
        schema["minLength"] = 1.into();
    }
    // Sent empty, an optional integer or flag counts as not given (Enswitch's
    // convention): the empty string is one of its values.
    if param.kind() != Kind::Text && !param.required() {
        schema["type"] = json!(["integer", "string"]);
        schema["maxLength"] = 0.into();
        if let Some(Value::Array(words)) = schema.get_mut("enum") {
            words.push("".into());
        }
    }
    if let Some(default) = param.default_value() {
        // Sent empty, a text parameter with a default takes it (form posts send every field).
        if let (Kind::Text, Some(Value::Array(words))) = (param.kind(), schema.get_mut("enum"))
            && !words.iter().any(|w| w == "")
        {
            words.insert(0, Value::from(""));
        }
        schema["default"] = default;
    }
    schema
}

/// A parameter's schema in a JSON body, which carries text, integers and
/// booleans alike: an integer is its decimal text, a boolean the flag `1`/`0`,
/// and `null` means "not given". The words, pattern and bounds still hold.
fn json_schema(param: &dyn ParamInfo) -> Value {
    let mut schema = schema(param);
    let mut types = vec![Value::from("string"), "integer".into(), "boolean".into()];
    if !param.required() {
        types.push("null".into());
    }
    match param.kind() {
        Kind::Flag => {
            if let Some(Value::Array(words)) = schema.get_mut("enum") {
                let flags: Vec<i64> = words.iter().filter_map(Value::as_i64).collect();
                words.extend(flags.iter().map(|f| Value::from(f.to_string())));
                words.extend(flags.iter().map(|f| Value::from(*f == 1)));
            }
        }
        Kind::Integer if schema.get("pattern").is_none() && param.required() => schema["pattern"] = "^-?[0-9]+$".into(),
        Kind::Integer if schema.get("pattern").is_none() => schema["pattern"] = "^(-?[0-9]+)?$".into(),
        _ => {}
    }
    if let Some(Value::Array(words)) = schema.get_mut("enum")
        && !param.required()
    {
        words.push(Value::Null);
    }
    schema["type"] = types.into();
    if let Some(object) = schema.as_object_mut() {
        object.remove("format");
        // A digit string may be sent for an integer: the pattern judges it.
        if param.kind() != Kind::Text {
            object.remove("maxLength");
        }
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

/// The headers a call reads besides its parameters.
fn header_params(spec: &CallSpec) -> Vec<Value> {
    let mut headers = vec![json!({
        "name": "X-Request-Id", "in": "header", "required": false,
        "description": "The request id to log and answer with: a plain token (1 to 64 of A-Z a-z 0-9 - _ .) is kept, anything else is replaced by 16 random hex digits.",
        "schema": { "type": "string" },
    })];
    if spec.writes() {
        headers.push(json!({
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "A retry with the same key and the same parameters within 24 hours gets the first answer again without acting twice; the same key with other parameters is a 400. Ignored by validation=1.",
            "schema": { "type": "string", "pattern": "^[!-~]{1,255}$" },
        }));
    }
    headers
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

/// The envelope codes a call can answer, in order.
fn envelope_codes(spec: &CallSpec, method: &str) -> Vec<u16> {
    let mut codes = Vec::new();
    match spec.answer {
        Answer::Nothing => codes.push(204),
        Answer::NothingOr(_) => codes.extend([200, 204]),
        _ => codes.push(200),
    }
    if spec.writes() {
        codes.push(201);
    }
    codes.push(400);
    if let Access::Requires { .. } = spec.access {
        codes.extend([401, 402]);
    }
    if spec.writes() {
        codes.push(403);
    }
    if !spec.list {
        codes.push(404);
    }
    if method == "post" {
        codes.push(413);
    }
    codes.extend([500, 503, 507]);
    codes
}

/// The envelope of one call: its codes, and its `data` on success.
fn envelope_schema(spec: &CallSpec, codes: &[u16]) -> Value {
    let mut properties = json!({
        "responses": { "type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["code", "key", "message"],
            "properties": {
                "code": { "type": "string", "enum": codes.iter().map(|c| c.to_string()).collect::<Vec<_>>() },
                "key": { "type": "string", "description": "The parameter at fault, or empty." },
                "message": { "type": "string" },
            },
        } },
    });
    if let Some(data) = spec.answer.schema() {
        properties["data"] = data;
    }
    json!({ "type": "object", "required": ["responses"], "properties": properties })
}

fn operation(spec: &CallSpec, method: &str) -> Value {
    let params: Vec<&dyn ParamInfo> = spec.all_params().collect();
    let (privileges, writes) = match spec.access {
        Access::Public => (Vec::new(), false),
        Access::Requires { any_of, writes } => (any_of.iter().map(|p| p.as_str()).collect(), writes),
    };
    let codes = envelope_codes(spec, method);
    let mut op = json!({
        "operationId": format!("{}_{method}", spec.name.replace('/', "_")),
        "summary": spec.summary,
        "tags": [spec.name.split('/').next().unwrap_or(spec.name)],
        "x-switchyard-privileges": privileges,
        "x-switchyard-writes": writes,
        "x-switchyard-example": curl_example(spec),
        "x-switchyard-codes": codes,
        "responses": responses(spec, &codes),
    });
    let mut parameters = header_params(spec);
    if method == "get" {
        parameters.extend(params.iter().map(|p| {
            json!({ "name": p.name(), "in": "query", "required": p.required(),
                    "description": description(*p), "schema": schema(*p) })
        }));
    } else {
        let body = |json_body: bool| {
            let properties: Map<String, Value> = params
                .iter()
                .map(|p| {
                    let mut s = if json_body { json_schema(*p) } else { schema(*p) };
                    s["description"] = description(*p).into();
                    (p.name().to_string(), s)
                })
                .collect();
            let required: Vec<&str> = params.iter().filter(|p| p.required()).map(|p| p.name()).collect();
            json!({ "type": "object", "properties": properties, "required": required })
        };
        op["requestBody"] = json!({ "content": {
            "application/x-www-form-urlencoded": { "schema": body(false) },
            "multipart/form-data": { "schema": body(false) },
            "application/json": { "schema": body(true) },
        } });
    }
    op["parameters"] = Value::Array(parameters);
    // Credentials are a security requirement, not parameters: HTTP Basic, or
    // auth_username and auth_password together in the query.
    op["security"] = match spec.access {
        Access::Public => json!([]),
        Access::Requires { .. } => json!([{ "basic": [] }, { "auth_username": [], "auth_password": [] }]),
    };
    op
}

/// The answers of one call by HTTP status. Under `http_status = "enswitch"`
/// every envelope code up to 404 rides on HTTP 200; under `mirror` the 4xx
/// codes are also the status. 413, 500, 503 and 507 are real statuses in both.
fn responses(spec: &CallSpec, codes: &[u16]) -> Value {
    let envelope = json!({ "application/json": { "schema": envelope_schema(spec, codes) } });
    let request_id = json!({ "description": "The request id: the client's own when it sent a plain token, else a generated one.",
                             "schema": { "type": "string" } });
    let retry_after =
        json!({ "description": "Seconds to wait before trying again.", "schema": { "type": "integer", "minimum": 0 } });
    let mut responses = Map::new();
    let mut add = |status: &str, description: &str, retry: bool| {
        let mut headers = json!({ "X-Request-Id": request_id });
        if retry {
            headers["Retry-After"] = retry_after.clone();
        }
        responses
            .insert(status.to_string(), json!({ "description": description, "headers": headers, "content": envelope }));
    };
    add("200", "The envelope, with any code below 500 under http_status = \"enswitch\" (the default).", false);
    let statuses: [(u16, &str, bool); 9] = [
        (400, "Refused parameters, one entry per key (http_status = \"mirror\").", false),
        (401, "Bad credentials, or a throttled login (with Retry-After) (http_status = \"mirror\").", true),
        (402, "The caller's role does not allow the call (http_status = \"mirror\").", false),
        (403, "The customer's rate plan does not allow it (http_status = \"mirror\").", false),
        (404, "The object does not exist or is not seen by the caller (http_status = \"mirror\").", false),
        (413, "Request body over max_body_bytes.", false),
        (500, "Server failure; nothing was written.", false),
        (503, "Database unavailable, too many calls in flight or the call timed out; nothing was written.", true),
        (507, "The database has no space left; nothing was written. Retry once space is freed.", false),
    ];
    for (status, description, retry) in statuses {
        if codes.contains(&status) {
            add(&status.to_string(), description, retry);
        }
    }
    Value::Object(responses)
}

/// The document as served to a client that reached the server at `host`
/// (its Host header) over `scheme`: `servers` names that address, so that a
/// generated client or a test runner calls the server it read the document from.
pub fn document_for(calls: &Registry, scheme: &str, host: Option<&str>) -> Value {
    let mut doc = document(calls);
    // Only a plain host[:port] is echoed back: a Host header is the client's to write.
    let plain = |h: &&str| {
        !h.is_empty() && h.len() <= 255 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
    };
    let url = host.filter(plain).map_or_else(|| "/".to_string(), |h| format!("{scheme}://{h}"));
    doc["servers"] = json!([{ "url": url }]);
    doc
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
            "securitySchemes": {
                "basic": { "type": "http", "scheme": "basic" },
                "auth_username": { "type": "apiKey", "in": "query", "name": "auth_username",
                                   "description": "Authentication username; with auth_password (also accepted in a POST body)." },
                "auth_password": { "type": "apiKey", "in": "query", "name": "auth_password",
                                   "description": "Authentication password; with auth_username (also accepted in a POST body)." },
            },
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
