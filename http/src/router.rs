//! [`Router`]: picks a [`Handler`] by method and path, with path
//! parameters, and answers what no route takes: 404, 405 with `Allow`, 501
//! for methods HTTP does not define, and `OPTIONS`.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};

use crate::server::{Handler, IntoResponse, RequestBody};

/// Routes requests to handlers by method and path.
///
/// Patterns are paths whose segments are literal (`/users`), a parameter
/// (`/users/{id}`), or, last, the rest of the path (`/files/{*path}`). The
/// route with the most literal segments wins when several match. A `HEAD`
/// request without a `HEAD` route goes to the `GET` route (the server sends
/// the headers only). The handler finds the parameters, percent-decoded,
/// in the request's extensions as [`PathParams`].
///
/// ```
/// use bytes::Bytes;
/// use http::{Method, Request};
/// use kiln_http::{PathParams, Router};
///
/// async fn user(request: Request<Bytes>) -> String {
///     let params = request.extensions().get::<PathParams>().unwrap();
///     format!("user {}\n", params.get("id").unwrap())
/// }
///
/// let router = Router::builder()
///     .get("/users/{id}", user)
///     .route(Method::DELETE, "/users/{id}", |_| async { "deleted\n" })
///     .build()?;
/// # Ok::<(), kiln_http::router::RouteError>(())
/// ```
#[derive(Clone)]
pub struct Router {
    routes: Arc<[Route]>,
}

/// A handler behind a pointer, with its future boxed.
trait DynHandler: Send + Sync {
    fn call(
        &self,
        request: Request<RequestBody>,
    ) -> Pin<Box<dyn Future<Output = Response<Bytes>> + '_>>;
}

impl<H: Handler> DynHandler for H {
    fn call(
        &self,
        request: Request<RequestBody>,
    ) -> Pin<Box<dyn Future<Output = Response<Bytes>> + '_>> {
        Box::pin(self.handle(request))
    }
}

/// What the router does with a request.
enum Decision<'r> {
    /// Hand it to this route, with these parameters.
    Route(&'r Route, PathParams),
    /// Answer it so (404, 405, 501, `OPTIONS`).
    Answer(Response<Bytes>),
}

struct Route {
    method: Method,
    pattern: Vec<Segment>,
    /// Literal segments: the more, the more specific.
    literals: usize,
    handler: Box<dyn DynHandler>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Rest(String),
}

/// The path parameters of a routed request, in its extensions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathParams {
    params: Vec<(String, String)>,
}

impl PathParams {
    /// The value of parameter `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.as_str())
    }

    /// All parameters, in the pattern's order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

impl Router {
    /// Starts a router.
    pub fn builder() -> RouterBuilder {
        RouterBuilder {
            routes: Vec::new(),
            error: None,
        }
    }

    /// The best route for `method` and `path`, with its parameters.
    fn find(&self, method: &Method, path: &str) -> Option<(&Route, PathParams)> {
        let mut best: Option<(&Route, PathParams)> = None;
        for route in self.routes.iter().filter(|route| route.method == method) {
            if best
                .as_ref()
                .is_some_and(|(b, _)| b.literals >= route.literals)
            {
                continue;
            }
            if let Some(params) = matches(&route.pattern, path) {
                best = Some((route, params));
            }
        }
        best
    }

    /// The methods of the routes that match `path`, for `Allow`.
    fn allowed(&self, path: &str) -> Vec<Method> {
        let mut methods: Vec<Method> = Vec::new();
        for route in self.routes.iter() {
            if !methods.contains(&route.method) && matches(&route.pattern, path).is_some() {
                methods.push(route.method.clone());
            }
        }
        if methods.contains(&Method::GET) && !methods.contains(&Method::HEAD) {
            methods.push(Method::HEAD);
        }
        methods
    }
}

impl Router {
    /// Where a request for `method` and `path` goes.
    fn decide(&self, method: &Method, path: &str) -> Decision<'_> {
        let found = self.find(method, path).or_else(|| {
            (method == Method::HEAD)
                .then(|| self.find(&Method::GET, path))
                .flatten()
        });
        if let Some((route, params)) = found {
            return Decision::Route(route, params);
        }
        if !is_defined(method) {
            return Decision::Answer(StatusCode::NOT_IMPLEMENTED.into_response());
        }
        let allowed = self.allowed(path);
        if allowed.is_empty() {
            return Decision::Answer(StatusCode::NOT_FOUND.into_response());
        }
        let allow = allowed
            .iter()
            .map(Method::as_str)
            .chain((method == Method::OPTIONS).then_some("OPTIONS"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut response = if method == Method::OPTIONS {
            StatusCode::NO_CONTENT.into_response().map(|_| Bytes::new())
        } else {
            StatusCode::METHOD_NOT_ALLOWED.into_response()
        };
        if let Ok(allow) = header::HeaderValue::from_str(&allow) {
            response.headers_mut().insert(header::ALLOW, allow);
        }
        Decision::Answer(response)
    }
}

impl Handler for Router {
    async fn handle(&self, mut request: Request<RequestBody>) -> Response<Bytes> {
        match self.decide(request.method(), request.uri().path()) {
            Decision::Route(route, params) => {
                request.extensions_mut().insert(params);
                route.handler.call(request).await
            }
            Decision::Answer(response) => response,
        }
    }
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for route in self.routes.iter() {
            list.entry(&format_args!(
                "{} {}",
                route.method,
                Pattern(&route.pattern)
            ));
        }
        list.finish()
    }
}

/// Shows a pattern as it was written.
struct Pattern<'a>(&'a [Segment]);

impl fmt::Display for Pattern<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("/");
        }
        for segment in self.0 {
            match segment {
                Segment::Literal(s) => write!(f, "/{s}")?,
                Segment::Param(s) => write!(f, "/{{{s}}}")?,
                Segment::Rest(s) => write!(f, "/{{*{s}}}")?,
            }
        }
        Ok(())
    }
}

/// Whether HTTP defines `method` (RFC 9110 and RFC 5789's `PATCH`).
fn is_defined(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET
            | Method::HEAD
            | Method::POST
            | Method::PUT
            | Method::DELETE
            | Method::CONNECT
            | Method::OPTIONS
            | Method::TRACE
            | Method::PATCH
    )
}

/// The parameters if `path` matches `pattern`.
fn matches(pattern: &[Segment], path: &str) -> Option<PathParams> {
    let mut params = PathParams::default();
    let path = path.strip_prefix('/').unwrap_or(path);
    let mut parts = if path.is_empty() {
        None
    } else {
        Some(path.split('/'))
    };
    for segment in pattern {
        if let Segment::Rest(name) = segment {
            let rest: Vec<&str> = parts.take().map(Iterator::collect).unwrap_or_default();
            params.params.push((name.clone(), decode(&rest.join("/"))?));
            return Some(params);
        }
        let part = parts.as_mut()?.next()?;
        match segment {
            Segment::Literal(literal) if literal == part => {}
            Segment::Param(name) if !part.is_empty() => {
                params.params.push((name.clone(), decode(part)?))
            }
            _ => return None,
        }
    }
    match parts.as_mut().and_then(Iterator::next) {
        None => Some(params),
        Some(_) => None,
    }
}

/// Percent-decodes a path segment; `None` if it is not valid UTF-8 after.
fn decode(part: &str) -> Option<String> {
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Builds a [`Router`]; see [`Router::builder`].
pub struct RouterBuilder {
    routes: Vec<Route>,
    error: Option<RouteError>,
}

impl RouterBuilder {
    /// Routes `method` requests for paths matching `pattern` to `handler`.
    pub fn route<H: Handler>(mut self, method: Method, pattern: &str, handler: H) -> RouterBuilder {
        if self.error.is_some() {
            return self;
        }
        match parse_pattern(pattern) {
            Ok(segments) => {
                if self
                    .routes
                    .iter()
                    .any(|r| r.method == method && r.pattern == segments)
                {
                    self.error = Some(RouteError::new(
                        pattern,
                        "the same method and pattern twice",
                    ));
                    return self;
                }
                let literals = segments
                    .iter()
                    .filter(|s| matches!(s, Segment::Literal(_)))
                    .count();
                self.routes.push(Route {
                    method,
                    pattern: segments,
                    literals,
                    handler: Box::new(handler),
                });
            }
            Err(why) => self.error = Some(RouteError::new(pattern, why)),
        }
        self
    }

    /// Routes `GET` (and `HEAD`) requests.
    pub fn get<H: Handler>(self, pattern: &str, handler: H) -> RouterBuilder {
        self.route(Method::GET, pattern, handler)
    }

    /// Routes `POST` requests.
    pub fn post<H: Handler>(self, pattern: &str, handler: H) -> RouterBuilder {
        self.route(Method::POST, pattern, handler)
    }

    /// Routes `PUT` requests.
    pub fn put<H: Handler>(self, pattern: &str, handler: H) -> RouterBuilder {
        self.route(Method::PUT, pattern, handler)
    }

    /// Routes `DELETE` requests.
    pub fn delete<H: Handler>(self, pattern: &str, handler: H) -> RouterBuilder {
        self.route(Method::DELETE, pattern, handler)
    }

    /// The router; fails with the first malformed or repeated pattern.
    pub fn build(self) -> Result<Router, RouteError> {
        match self.error {
            Some(err) => Err(err),
            None => Ok(Router {
                routes: self.routes.into(),
            }),
        }
    }
}

impl fmt::Debug for RouterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouterBuilder")
            .field("routes", &self.routes.len())
            .field("error", &self.error)
            .finish()
    }
}

/// Reads a pattern.
fn parse_pattern(pattern: &str) -> Result<Vec<Segment>, &'static str> {
    let Some(path) = pattern.strip_prefix('/') else {
        return Err("a pattern starts with '/'");
    };
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let parts: Vec<&str> = path.split('/').collect();
    let mut segments = Vec::with_capacity(parts.len());
    let mut names: Vec<&str> = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let segment = if let Some(name) = part.strip_prefix("{*").and_then(|p| p.strip_suffix('}'))
        {
            if i + 1 != parts.len() {
                return Err("'{*rest}' must be the last segment");
            }
            names.push(name);
            Segment::Rest(name.to_owned())
        } else if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            names.push(name);
            Segment::Param(name.to_owned())
        } else if part.contains(['{', '}']) {
            return Err("a parameter is a whole segment: '{name}'");
        } else {
            Segment::Literal((*part).to_owned())
        };
        segments.push(segment);
    }
    if names
        .iter()
        .any(|name| name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        return Err("parameter names are letters, digits and '_'");
    }
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return Err("a parameter name used twice");
        }
    }
    Ok(segments)
}

/// A malformed or repeated route pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteError {
    pattern: String,
    why: &'static str,
}

impl RouteError {
    fn new(pattern: &str, why: &'static str) -> RouteError {
        RouteError {
            pattern: pattern.to_owned(),
            why,
        }
    }
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid route pattern '{}': {}", self.pattern, self.why)
    }
}

impl StdError for RouteError {}

#[cfg(test)]
mod tests;
