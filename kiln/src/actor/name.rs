//! Readable actor names for logs, derived from Rust type names.

use std::any::type_name;

/// Returns a readable name for `T`: the last path segment of its type name,
/// without generic parameters or the `{{closure}}` segments that async
/// functions and closures add.
///
/// `my_app::actors::greeter::{{closure}}` (the future of an `async fn`) gives
/// `greeter`; `my_app::Store<u64>` gives `Store`; a closure defined in
/// `main` gives `main`. Runtimes use it to name the futures they run.
///
/// ```
/// assert_eq!(kiln::actor::name_of::<Vec<u8>>(), "Vec");
/// ```
pub fn name_of<T: ?Sized>() -> &'static str {
    shorten(type_name::<T>())
}

/// See [`name_of`].
pub(crate) fn shorten(full: &'static str) -> &'static str {
    let mut name = full;
    // Strip trailing closure segments, e.g. `main::{{closure}}::{{closure}}`.
    while let Some(stripped) = name.strip_suffix("::{{closure}}") {
        name = stripped;
    }
    // Start of the last path segment that is not inside generic parameters.
    let bytes = name.as_bytes();
    let mut depth = 0usize;
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' => depth += 1,
            b'>' => depth = depth.saturating_sub(1),
            b':' if depth == 0 && bytes.get(i + 1) == Some(&b':') => {
                start = i + 2;
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    let segment = &name[start..];
    let end = segment.find('<').unwrap_or(segment.len());
    let segment = &segment[..end];
    if segment.is_empty() { full } else { segment }
}

#[cfg(test)]
mod tests {
    use super::shorten;

    #[test]
    fn shortens_type_names() {
        assert_eq!(shorten("my_app::greeter"), "greeter");
        assert_eq!(shorten("my_app::actors::greeter::{{closure}}"), "greeter");
        assert_eq!(shorten("my_app::main::{{closure}}::{{closure}}"), "main");
        assert_eq!(shorten("my_app::Store<alloc::string::String>"), "Store");
        assert_eq!(
            shorten("my_app::Store<my_app::Key<u8>>::run::{{closure}}"),
            "run"
        );
        assert_eq!(shorten("greeter"), "greeter");
        assert_eq!(shorten("<my_app::A as my_app::B>::f"), "f");
    }
}
