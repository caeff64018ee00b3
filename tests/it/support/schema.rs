//! A small validator for the subset of JSON Schema the packet-capture OpenAPI spec uses:
//! `$ref` (local and `./network.json#`), `allOf`, `type`, `properties`, `required`, `enum`,
//! `minimum`/`maximum`, int32/int64, `items`, `readOnly`. Stricter than the spec on purpose:
//! an unknown property (a casing mistake) or a read-only property in a request is an error.

use serde_json::Value;

/// Validates `v` against `#/definitions/{def}` of `spec`; returns every problem found.
pub fn validate(spec: &Value, def: &str, v: &Value) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    let schema = &spec["definitions"][def];
    assert!(schema.is_object(), "no definition {def}");
    check(spec, schema, v, "$", &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn resolve<'a>(spec: &'a Value, r: &str) -> &'a Value {
    let (file, ptr) = r.split_once('#').expect("ref with #");
    let root = if file.is_empty() {
        spec
    } else {
        assert_eq!(file, "./network.json", "unknown ref file");
        &spec["x-network.json"]
    };
    let out = root.pointer(ptr).unwrap_or(&Value::Null);
    assert!(!out.is_null(), "dangling ref {r}");
    out
}

/// Properties of a schema including those of its `allOf` parts.
fn properties<'a>(spec: &'a Value, schema: &'a Value, out: &mut Vec<(&'a str, &'a Value)>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        properties(spec, resolve(spec, r), out);
    }
    if let Some(p) = schema.get("properties").and_then(Value::as_object) {
        for (k, v) in p {
            out.push((k.as_str(), v));
        }
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            properties(spec, s, out);
        }
    }
}

fn required<'a>(spec: &'a Value, schema: &'a Value, out: &mut Vec<&'a str>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        required(spec, resolve(spec, r), out);
    }
    if let Some(req) = schema.get("required").and_then(Value::as_array) {
        out.extend(req.iter().filter_map(Value::as_str));
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            required(spec, s, out);
        }
    }
}

fn check(spec: &Value, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let target = resolve(spec, r);
        // Sibling keywords next to $ref (description, readOnly) carry no constraints here.
        return check(spec, target, v, at, errors);
    }
    let ty = schema.get("type").and_then(Value::as_str);
    let mut props = Vec::new();
    properties(spec, schema, &mut props);
    if ty == Some("object") || !props.is_empty() {
        let Some(obj) = v.as_object() else {
            errors.push(format!("{at}: expected an object"));
            return;
        };
        let mut req = Vec::new();
        required(spec, schema, &mut req);
        for r in req {
            if !obj.contains_key(r) {
                errors.push(format!("{at}: required property '{r}' missing"));
            }
        }
        for (k, val) in obj {
            match props.iter().find(|(name, _)| *name == k) {
                None => errors.push(format!("{at}: unknown property '{k}'")),
                Some((_, ps)) => {
                    let ro = ps.get("readOnly").and_then(Value::as_bool) == Some(true)
                        || ps
                            .get("$ref")
                            .and_then(Value::as_str)
                            .map(|r| resolve(spec, r).get("readOnly") == Some(&Value::Bool(true)))
                            .unwrap_or(false);
                    if ro {
                        errors.push(format!("{at}.{k}: read-only property sent"));
                    }
                    check(spec, ps, val, &format!("{at}.{k}"), errors);
                }
            }
        }
        return;
    }
    match ty {
        Some("string") => {
            let Some(s) = v.as_str() else {
                errors.push(format!("{at}: expected a string"));
                return;
            };
            if let Some(e) = schema.get("enum").and_then(Value::as_array) {
                if !e.iter().any(|x| x.as_str() == Some(s)) {
                    errors.push(format!("{at}: '{s}' not in {e:?}"));
                }
            }
        }
        Some("integer") => {
            let Some(n) = v.as_i64().or_else(|| v.as_u64().map(|u| u as i64)) else {
                errors.push(format!("{at}: expected an integer"));
                return;
            };
            if schema.get("format").and_then(Value::as_str) == Some("int32")
                && i32::try_from(n).is_err()
            {
                errors.push(format!("{at}: {n} is not an int32"));
            }
            if let Some(min) = schema.get("minimum").and_then(Value::as_i64) {
                if n < min {
                    errors.push(format!("{at}: {n} < minimum {min}"));
                }
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_i64) {
                if n > max {
                    errors.push(format!("{at}: {n} > maximum {max}"));
                }
            }
        }
        Some("boolean") if !v.is_boolean() => {
            errors.push(format!("{at}: expected a boolean"));
        }
        Some("array") => {
            let Some(items) = v.as_array() else {
                errors.push(format!("{at}: expected an array"));
                return;
            };
            for (i, item) in items.iter().enumerate() {
                check(spec, &schema["items"], item, &format!("{at}[{i}]"), errors);
            }
        }
        _ => {}
    }
}
