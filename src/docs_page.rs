//! The readable reference at `/api/docs`, built from the OpenAPI document
//! (`crate::openapi`) so that the page and the machine description cannot
//! disagree; served with no external assets. Each call has a form that sends
//! it with the reader's credentials and shows the answer.

use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#x27;")
}

/// The areas in the order a new system is set up: what a later example
/// refers to (a plan, a class, an inbound group, a number) is made first.
/// An area missing here follows them, in name order.
const AREAS: [&str; 19] = [
    "plans",
    "plans/features",
    "customers",
    "customers/balance",
    "customers/charges",
    "customers/transactions",
    "roles",
    "roles/access",
    "people",
    "classes",
    "ingroups",
    "regions",
    "music",
    "recording/groups",
    "timegroups",
    "numbers/system",
    "numbers",
    "codes",
    "audit",
];

/// Within an area, the calls that make something come before those that read it.
const MAKERS: [&str; 4] = ["create", "purchase", "set", "add"];

fn page_key(call: &str) -> (usize, &str, bool, &str) {
    let (area, verb) = call.rsplit_once('/').unwrap_or(("", call));
    let rank = AREAS.iter().position(|a| *a == area).unwrap_or(AREAS.len());
    (rank, area, !MAKERS.contains(&verb), verb)
}

/// The calls in page order: everything but the deletes in set-up order, then
/// the deletes in the reverse order, so that nothing a delete removes is
/// needed further down. Run in this order on a fresh server, the examples
/// all succeed (tests/api/docs_page.rs runs them).
pub fn page_order<'a>(calls: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let (mut deletes, mut rest): (Vec<&str>, Vec<&str>) = calls.into_iter().partition(|c| c.ends_with("/delete"));
    rest.sort_by_key(|c| page_key(c));
    deletes.sort_by_key(|c| std::cmp::Reverse(page_key(c)));
    rest.extend(deletes);
    rest
}

/// The type a parameter is shown as: its JSON Schema type, or for a list of
/// types (an optional integer that may also be sent empty) the first.
fn type_name(schema: &Value) -> &str {
    match &schema["type"] {
        Value::String(name) => name,
        Value::Array(names) => names.first().and_then(Value::as_str).unwrap_or(""),
        _ => "",
    }
}

/// One form field per parameter, with what the document says it accepts.
fn field(form_id: &str, param: &Value) -> String {
    let name = param["name"].as_str().unwrap_or("");
    let schema = &param["schema"];
    let required = param["required"].as_bool() == Some(true);
    let id = escape(&format!("{form_id}-{name}"));
    let mut note = String::new();
    if let Some(default) = schema.get("default") {
        note.push_str(&format!(" default {default}"));
    }
    let control = if let Some(choices) = schema["enum"].as_array() {
        let blank = if required { "choose" } else { "(not sent)" };
        let mut options = format!("<option value=\"\">{blank}</option>");
        for choice in choices {
            let value = match choice {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            options.push_str(&format!("<option value=\"{0}\">{0}</option>", escape(&value)));
        }
        format!(
            "<select id=\"{id}\" name=\"{}\"{}>{options}</select>",
            escape(name),
            if required { " required" } else { "" }
        )
    } else {
        let mut attributes = String::new();
        let integer = type_name(schema) == "integer";
        attributes.push_str(if integer { " type=\"number\" step=\"1\"" } else { " type=\"text\"" });
        for (key, attribute) in [("minimum", "min"), ("maximum", "max")] {
            if let Some(bound) = schema.get(key).filter(|b| b.is_number()) {
                attributes.push_str(&format!(" {attribute}=\"{bound}\""));
                note.push_str(&format!(" {key} {bound}"));
            }
        }
        // An optional integer is also "integer or empty string" (`maxLength: 0`
        // belongs to the string branch): lengths only bound text fields.
        for (key, attribute) in [("minLength", "minlength"), ("maxLength", "maxlength")] {
            if let Some(bound) = schema.get(key).and_then(Value::as_u64).filter(|_| !integer) {
                attributes.push_str(&format!(" {attribute}=\"{bound}\""));
            }
        }
        // JSON Schema's pattern is an unanchored ECMAScript search; HTML's
        // pattern attribute anchors it and compiles it another way, so the
        // script checks it as the document means it.
        if let Some(pattern) = schema["pattern"].as_str() {
            attributes.push_str(&format!(" data-pattern=\"{0}\" title=\"matches {0}\"", escape(pattern)));
            note.push_str(&format!(" pattern {pattern}"));
        }
        if required {
            attributes.push_str(" required");
        }
        format!("<input id=\"{id}\" name=\"{}\"{attributes} autocomplete=\"off\">", escape(name))
    };
    format!(
        "<label for=\"{id}\"><code>{}</code>{}<small>{}</small></label>{control}",
        escape(name),
        if required { " <b class=\"req\" title=\"required\">*</b>" } else { "" },
        escape(&note),
    )
}

/// The HTML reference, built from the OpenAPI document.
pub fn html(document: &Value) -> String {
    let mut calls = String::new();
    let mut index = String::new();
    let empty = serde_json::Map::new();
    let paths = document["paths"].as_object().unwrap_or(&empty);
    for path in paths.keys() {
        let name = path.trim_start_matches("/api/json/");
        index.push_str(&format!("<li><a href=\"#{}\">{}</a></li>", escape(&name.replace('/', "-")), escape(name)));
    }
    let order = page_order(paths.keys().map(|p| p.trim_start_matches("/api/json/")));
    let first_delete = order.iter().position(|c| c.ends_with("/delete"));
    for (position, name) in order.into_iter().enumerate() {
        if Some(position) == first_delete {
            calls.push_str(
                "<h1 id=\"deletes\">Deletes</h1><p>In the reverse order of the calls above, so that running \
                 every example from the top removes what the earlier ones made.</p>",
            );
        }
        let op = &paths[&format!("/api/json/{name}")]["get"];
        let id = name.replace('/', "-");
        let mut rows = String::new();
        let mut fields = String::new();
        for p in op["parameters"].as_array().into_iter().flatten() {
            let pname = p["name"].as_str().unwrap_or("");
            let default = p["schema"].get("default").map(|d| d.to_string()).unwrap_or_default();
            rows.push_str(&format!(
                "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(pname),
                if p["required"].as_bool() == Some(true) { " *" } else { "" },
                escape(if p["in"] == "header" { "header" } else { type_name(&p["schema"]) }),
                escape(&default),
                escape(p["description"].as_str().unwrap_or("")),
            ));
            // Credentials come from the fields at the top of the page, in a
            // header; the page sends no other header (X-Request-Id,
            // Idempotency-Key) and so has no field for one.
            if !pname.starts_with("auth_") && p["in"] != "header" {
                fields.push_str(&format!("<div class=\"field\">{}</div>", field(&id, p)));
            }
        }
        let privileges: Vec<&str> =
            op["x-switchyard-privileges"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let public = privileges.is_empty();
        let requires = if public { "no credentials".to_string() } else { privileges.join(" or ") };
        let id = escape(&id);
        calls.push_str(&format!(
            "<section class=\"call\" id=\"{id}\"><h2>{}</h2><p>{}</p><p class=\"requires\">Requires: {}</p>\
             <table><thead><tr><th>Parameter</th><th>Type</th><th>Default</th><th>Description</th></tr></thead>\
             <tbody>{rows}</tbody></table><pre class=\"example\">{}</pre>\
             <form class=\"try\" id=\"form-{id}\" method=\"post\" action=\"/api/json/{}\" data-call=\"{}\" data-public=\"{}\">\
             {fields}<button type=\"submit\">Send {}</button></form>\
             <pre class=\"answer\" id=\"answer-{id}\" aria-live=\"polite\"></pre></section>",
            escape(name),
            escape(op["summary"].as_str().unwrap_or("")),
            escape(&requires),
            escape(op["x-switchyard-example"].as_str().unwrap_or("")),
            escape(name),
            escape(name),
            u8::from(public),
            escape(name),
        ));
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Switchyard API reference</title>\
         <meta name=\"referrer\" content=\"no-referrer\"><style>{STYLE}</style></head><body><h1>Switchyard API reference</h1>\
         <p>Every call answers with the envelope <code>{{\"responses\":[{{\"code\",\"key\",\"message\"}}],\"data\":...}}</code>. \
         Parameters (* required) go in the query string or a POST body, separated by <code>;</code> or <code>&amp;</code>. \
         Send <code>#</code> as <code>%23</code>. The machine-readable description is <a href=\"/api/openapi.json\">/api/openapi.json</a>.</p>\
         <h2 class=\"plain\">Trying calls</h2><p>Each call below has a form that sends it to this server \
         with the credentials in the box below (in an Authorization header, never in the address) and shows the answer under it. \
         They stay in this page's memory: reloading forgets them. Empty optional fields are not sent. \
         The examples, run from top to bottom on a new server, all succeed.</p>\
         <div id=\"credentials\"><b>Credentials</b> <label for=\"auth-username\">Username</label><input id=\"auth-username\" type=\"text\" autocomplete=\"off\">\
         <label for=\"auth-password\">Password</label><input id=\"auth-password\" type=\"password\" autocomplete=\"off\"></div>\
         <nav><ul>{index}</ul></nav>{calls}<script>{SCRIPT}</script></body></html>"
    )
}

const STYLE: &str = "body{font-family:sans-serif;max-width:70em;margin:auto;padding:1em}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}\
pre{background:#f4f4f4;padding:.5em;overflow-x:auto;white-space:pre-wrap;word-break:break-all}nav ul{columns:3}\
#credentials{position:sticky;top:0;background:#fffbe6;border:1px solid #e0c000;padding:.5em;z-index:1}\
#credentials input{margin:0 1em 0 .3em}form.try{display:grid;grid-template-columns:max-content 1fr;gap:.2em .5em;\
margin:.5em 0;padding:.5em;border:1px solid #ccc}form.try .field{display:contents}form.try small{color:#666;margin-left:.4em}\
form.try button{grid-column:1/3;justify-self:start}.req{color:#b00}pre.answer:empty{display:none}\
pre.answer[data-state=error]{background:#fde8e8}";

/// No input ever reaches the page as markup: the answer is written with
/// `textContent`, and the credentials travel only in the Authorization header.
const SCRIPT: &str = r#"(function () {
  'use strict';
  var username = document.getElementById('auth-username');
  var password = document.getElementById('auth-password');
  function basic(user, pass) {
    var bytes = new TextEncoder().encode(user + ':' + pass);
    var binary = '';
    bytes.forEach(function (b) { binary += String.fromCharCode(b); });
    return 'Basic ' + btoa(binary);
  }
  function checkPattern(input) {
    var pattern = input.getAttribute('data-pattern');
    if (pattern === null) return;
    var ok = true;
    try { ok = input.value === '' || new RegExp(pattern, 'u').test(input.value); } catch (e) { ok = true; }
    input.setCustomValidity(ok ? '' : 'Does not match ' + pattern);
  }
  document.addEventListener('input', function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute('data-pattern')) checkPattern(event.target);
  });
  // A field named like a form property (`id`, `elements`, `action`) hides
  // that property on the form element, so the form is read through the
  // prototypes' own methods.
  var attribute = function (element, name) { return Element.prototype.getAttribute.call(element, name); };
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !Element.prototype.matches.call(form, 'form.try')) return;
    event.preventDefault();
    var call = attribute(form, 'data-call');
    var answer = document.getElementById('answer-' + attribute(form, 'id').slice('form-'.length));
    var body = new URLSearchParams();
    Element.prototype.querySelectorAll.call(form, 'input[name], select[name]').forEach(function (element) {
      if (element.disabled) return;
      if (element.value === '' && !element.required) return;
      body.append(element.name, element.value);
    });
    var headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
    if (attribute(form, 'data-public') !== '1') headers.Authorization = basic(username.value, password.value);
    answer.removeAttribute('data-state');
    answer.removeAttribute('data-code');
    answer.textContent = 'Sending ' + call + '...';
    fetch('/api/json/' + call, {
      method: 'POST', headers: headers, body: body.toString(),
      credentials: 'omit', cache: 'no-store', redirect: 'error'
    }).then(function (response) {
      return response.text().then(function (text) {
        var shown = text, code = '';
        try {
          var parsed = JSON.parse(text);
          shown = JSON.stringify(parsed, null, 2);
          code = String(parsed.responses[0].code);
        } catch (e) { /* not an envelope: shown as it came */ }
        answer.textContent = shown;
        answer.setAttribute('data-code', code);
        answer.setAttribute('data-http-status', String(response.status));
        answer.setAttribute('data-state', /^2/.test(code) ? 'done' : 'error');
      });
    }).catch(function (error) {
      answer.textContent = 'The request failed: ' + error;
      answer.setAttribute('data-state', 'error');
    });
  });
})();"#;

/// The Content-Security-Policy the page is served with: only its own inline
/// script and style run, and it talks to this server alone. Anything that
/// slipped into the page as markup could then neither run nor load.
pub fn content_security_policy() -> String {
    let hash = |text: &str| base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()));
    format!(
        "default-src 'none'; script-src 'sha256-{}'; style-src 'sha256-{}'; connect-src 'self'; \
         form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        hash(SCRIPT),
        hash(STYLE)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletes_come_last_in_reverse_set_up_order() {
        let order = page_order([
            "classes/delete",
            "numbers/system/create",
            "classes/get",
            "numbers/system/delete",
            "classes/create",
            "zebras/list",
        ]);
        assert_eq!(
            order,
            [
                "classes/create",
                "classes/get",
                "numbers/system/create",
                "zebras/list",
                "numbers/system/delete",
                "classes/delete"
            ]
        );
    }

    #[test]
    fn fields_read_enums_bounds_and_patterns_escaped() {
        let enum_param = serde_json::json!({ "name": "dtype", "required": true,
            "schema": { "type": "string", "enum": ["phone", "<x>"] } });
        let html = field("codes-create", &enum_param);
        assert!(html.contains("<select id=\"codes-create-dtype\" name=\"dtype\" required>"), "{html}");
        assert!(html.contains("<option value=\"&lt;x&gt;\">&lt;x&gt;</option>"), "{html}");
        let bounded = serde_json::json!({ "name": "maximum", "required": false,
            "schema": { "type": "integer", "minimum": -1, "maximum": 9, "pattern": "^\"[0-9]+$" } });
        let html = field("f", &bounded);
        assert!(html.contains("type=\"number\" step=\"1\" min=\"-1\" max=\"9\""), "{html}");
        assert!(html.contains("data-pattern=\"^&quot;[0-9]+$\""), "{html}");
        assert!(!html.contains(" required"), "{html}");
    }
}
