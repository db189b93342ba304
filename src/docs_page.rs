//! The readable reference at `/api/docs`, built from the OpenAPI document
//! (`crate::openapi`) so that the page and the machine description cannot
//! disagree; served with no external assets.

use serde_json::Value;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The HTML reference, built from the OpenAPI document.
pub fn html(document: &Value) -> String {
    let mut calls = String::new();
    let mut index = String::new();
    if let Some(paths) = document["paths"].as_object() {
        for (path, item) in paths {
            let name = path.trim_start_matches("/api/json/");
            let op = &item["get"];
            let id = name.replace('/', "-");
            index.push_str(&format!("<li><a href=\"#{id}\">{}</a></li>", escape(name)));
            let mut rows = String::new();
            for p in op["parameters"].as_array().into_iter().flatten() {
                let default = p["schema"].get("default").map(|d| d.to_string()).unwrap_or_default();
                rows.push_str(&format!(
                    "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(p["name"].as_str().unwrap_or("")),
                    if p["required"].as_bool() == Some(true) { " *" } else { "" },
                    escape(p["schema"]["type"].as_str().unwrap_or("")),
                    escape(&default),
                    escape(p["description"].as_str().unwrap_or("")),
                ));
            }
            let privileges: Vec<&str> =
                op["x-switchyard-privileges"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let requires = if privileges.is_empty() { "no credentials".to_string() } else { privileges.join(" or ") };
            calls.push_str(&format!(
                "<section class=\"call\" id=\"{id}\"><h2>{}</h2><p>{}</p><p class=\"requires\">Requires: {}</p>\
                 <table><thead><tr><th>Parameter</th><th>Type</th><th>Default</th><th>Description</th></tr></thead>\
                 <tbody>{rows}</tbody></table><pre class=\"example\">{}</pre></section>",
                escape(name),
                escape(op["summary"].as_str().unwrap_or("")),
                escape(&requires),
                escape(op["x-switchyard-example"].as_str().unwrap_or("")),
            ));
        }
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Switchyard API reference</title>\
         <style>body{{font-family:sans-serif;max-width:70em;margin:auto;padding:1em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}}pre{{background:#f4f4f4;padding:.5em;overflow-x:auto}}\
         nav ul{{columns:3}}</style></head><body><h1>Switchyard API reference</h1>\
         <p>Every call answers with the envelope <code>{{\"responses\":[{{\"code\",\"key\",\"message\"}}],\"data\":...}}</code>. \
         Parameters (* required) go in the query string or a POST body, separated by <code>;</code> or <code>&amp;</code>. \
         Send <code>#</code> as <code>%23</code>. The machine-readable description is <a href=\"/api/openapi.json\">/api/openapi.json</a>.</p>\
         <nav><ul>{index}</ul></nav>{calls}</body></html>"
    )
}
