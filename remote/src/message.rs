//! [`Message`]: what can be sent to an actor on another node.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A message type that can cross nodes: serde-encodable (with postcard on
/// the wire) and named by a stable [`NAME`](Message::NAME).
///
/// The name, not the Rust type, is what a registration and a lookup agree
/// on: a lookup with another message type fails with
/// [`LookupError::WrongType`](crate::LookupError::WrongType), and a frame
/// whose type name does not match the registration closes the link rather
/// than decode garbage. Keep the name when the type moves or is renamed;
/// change it when its encoding changes incompatibly (a field added,
/// removed or reordered), e.g. `"shop.Order.v2"`.
///
/// ```
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Order {
///     item: String,
///     count: u32,
/// }
///
/// impl kiln_remote::Message for Order {
///     const NAME: &'static str = "shop.Order";
/// }
/// ```
pub trait Message: Serialize + DeserializeOwned + Send + 'static {
    /// The stable name of the type across nodes and versions.
    const NAME: &'static str;
}
