//! Route patterns and matching, without a server.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};

use super::*;

/// Runs a future that does not wait (the handlers here never do).
fn now<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the handler waited"),
    }
}

fn request(method: Method, path: &str) -> Request<Bytes> {
    Request::builder()
        .method(method)
        .uri(path)
        .body(Bytes::new())
        .unwrap()
}

/// Answers with the route's name and its parameters.
fn named(name: &'static str) -> impl Handler {
    move |request: Request<Bytes>| async move {
        let params = request
            .extensions()
            .get::<PathParams>()
            .cloned()
            .unwrap_or_default();
        let params: Vec<String> = params.iter().map(|(n, v)| format!("{n}={v}")).collect();
        format!("{name} {}", params.join(" "))
    }
}

fn router() -> Router {
    Router::builder()
        .get("/", named("root"))
        .get("/users", named("users"))
        .get("/users/{id}", named("user"))
        .get("/users/me", named("me"))
        .delete("/users/{id}", named("delete"))
        .get("/users/{id}/posts/{post}", named("post"))
        .get("/files/{*path}", named("files"))
        .build()
        .unwrap()
}

fn call(router: &Router, method: Method, path: &str) -> Response<Bytes> {
    now(router.handle(request(method, path)))
}

fn body(response: &Response<Bytes>) -> &str {
    std::str::from_utf8(response.body()).unwrap().trim_end()
}

#[test]
fn routes_by_method_and_path() {
    let router = router();
    let cases = [
        (Method::GET, "/", "root "),
        (Method::GET, "/users", "users "),
        (Method::GET, "/users/7", "user id=7"),
        (Method::GET, "/users/me", "me "),
        (Method::DELETE, "/users/7", "delete id=7"),
        (Method::GET, "/users/7/posts/9", "post id=7 post=9"),
        (Method::GET, "/users/a%20b", "user id=a b"),
        (Method::GET, "/files/a/b/c.txt", "files path=a/b/c.txt"),
        (Method::GET, "/files/", "files path="),
        (Method::HEAD, "/users/7", "user id=7"),
    ];
    for (method, path, expected) in cases {
        let response = call(&router, method.clone(), path);
        assert_eq!(response.status(), StatusCode::OK, "{method} {path}");
        assert_eq!(body(&response), expected.trim_end(), "{method} {path}");
    }
}

#[test]
fn answers_what_no_route_takes() {
    let router = router();
    let response = call(&router, Method::GET, "/nope");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = call(&router, Method::GET, "/users/7/extra");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = call(&router, Method::GET, "/users/");
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "an empty parameter does not match"
    );

    let response = call(&router, Method::POST, "/users/7");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "GET, DELETE, HEAD");

    let response = call(&router, Method::OPTIONS, "/users/7");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        response.headers()[header::ALLOW],
        "GET, DELETE, HEAD, OPTIONS"
    );

    let response = call(&router, Method::from_bytes(b"BREW").unwrap(), "/users/7");
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
        let err = Router::builder()
            .get(pattern, named("x"))
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("invalid route pattern '{pattern}': {why}")
        );
    }
    let err = Router::builder()
        .get("/a/{x}", named("x"))
        .get("/a/{x}", named("y"))
        .build()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("the same method and pattern twice"),
        "{err}"
    );
}
