//! Route patterns and matching, without a server.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};

use super::*;

/// Answers with the body the request would get.
async fn named(request: Request<Bytes>) -> Bytes {
    request.into_body()
}

fn router() -> Router {
    Router::builder()
        .get("/", named)
        .get("/users", named)
        .get("/users/{id}", named)
        .get("/users/me", named)
        .delete("/users/{id}", named)
        .get("/users/{id}/posts/{post}", named)
        .get("/files/{*path}", named)
        .build()
        .unwrap()
}

/// The route a request goes to (`METHOD pattern` and its parameters), or
/// the router's own answer.
fn call(router: &Router, method: Method, path: &str) -> Result<String, Response<Bytes>> {
    match router.decide(&method, path) {
        Decision::Route(route, params) => {
            let params: Vec<String> = params.iter().map(|(n, v)| format!("{n}={v}")).collect();
            Ok(format!(
                "{} {} {}",
                route.method,
                Pattern(&route.pattern),
                params.join(" ")
            ))
        }
        Decision::Answer(response) => Err(response),
    }
}

fn answer(router: &Router, method: Method, path: &str) -> Response<Bytes> {
    call(router, method, path).expect_err("routed")
}

#[test]
fn routes_by_method_and_path() {
    let router = router();
    let cases = [
        (Method::GET, "/", "GET / "),
        (Method::GET, "/users", "GET /users "),
        (Method::GET, "/users/7", "GET /users/{id} id=7"),
        (Method::GET, "/users/me", "GET /users/me "),
        (Method::DELETE, "/users/7", "DELETE /users/{id} id=7"),
        (
            Method::GET,
            "/users/7/posts/9",
            "GET /users/{id}/posts/{post} id=7 post=9",
        ),
        (Method::GET, "/users/a%20b", "GET /users/{id} id=a b"),
        (
            Method::GET,
            "/files/a/b/c.txt",
            "GET /files/{*path} path=a/b/c.txt",
        ),
        (Method::GET, "/files/", "GET /files/{*path} path="),
        (Method::HEAD, "/users/7", "GET /users/{id} id=7"),
    ];
    for (method, path, expected) in cases {
        let routed = call(&router, method.clone(), path).expect("not routed");
        assert_eq!(routed, expected, "{method} {path}");
    }
}

#[test]
fn answers_what_no_route_takes() {
    let router = router();
    let response = answer(&router, Method::GET, "/nope");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = answer(&router, Method::GET, "/users/7/extra");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = answer(&router, Method::GET, "/users/");
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "an empty parameter does not match"
    );

    let response = answer(&router, Method::POST, "/users/7");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "GET, DELETE, HEAD");

    let response = answer(&router, Method::OPTIONS, "/users/7");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        response.headers()[header::ALLOW],
        "GET, DELETE, HEAD, OPTIONS"
    );

    let response = answer(&router, Method::from_bytes(b"BREW").unwrap(), "/users/7");
    assert_eq!(response.status(), StatusCode::NOT_IMPLEMENTED);
}

#[test]
fn bad_patterns_are_errors() {
    let cases = [
        ("users", "a pattern starts with '/'"),
        ("/files/{*path}/more", "'{*rest}' must be the last segment"),
        ("/a{b}", "a parameter is a whole segment: '{name}'"),
        ("/{}", "parameter names are letters, digits and '_'"),
        ("/{a}/{a}", "a parameter name used twice"),
    ];
    for (pattern, why) in cases {
        let err = Router::builder().get(pattern, named).build().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("invalid route pattern '{pattern}': {why}")
        );
    }
    let err = Router::builder()
        .get("/a/{x}", named)
        .get("/a/{x}", named)
        .build()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("the same method and pattern twice"),
        "{err}"
    );
}
