//! Common message types, and [`from_message!`](crate::from_message) for
//! actors whose message is an enum.
//!
//! The types carry no data; they exist so that actors agree on their meaning
//! and can convert them into their own message enums:
//!
//! | type | meaning |
//! |---|---|
//! | [`Start`] | start the work the actor is there for |
//! | [`Ack`] | acknowledge something |
//! | [`Done`] | the work is done |
//! | [`Cancel`] | stop the current work |
//! | [`Terminate`] | stop the actor, e.g. on a process signal |
//!
//! # `from_message!`
//!
//! Writes the `From` implementations that let an
//! [`ActorRef`](crate::actor_ref::ActorRef) of an enum accept each variant's
//! payload; a variant with several fields takes them as a tuple. A variant
//! written `Variant(Request) -> Response` holds an
//! [`RpcMessage<Request, Response>`](crate::actor_ref::RpcMessage), so
//! [`ActorRef::rpc`](crate::actor_ref::ActorRef::rpc) can call it;
//! `Variant(A, B) -> Response` takes the request `(A, B)`. See the macro for
//! every form.
//!
//! ```
//! use kiln::actor_ref::RpcMessage;
//! use kiln::from_message;
//!
//! enum Message {
//!     /// Add to the total.
//!     Add(u64),
//!     /// Get the total.
//!     Get(RpcMessage<(), u64>),
//! }
//!
//! from_message!(Message::Add(u64), Message::Get(()) -> u64);
//!
//! let msg: Message = 1.into();
//! assert!(matches!(msg, Message::Add(1)));
//! ```

/// Start the work the actor is there for.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Start;

/// Acknowledge something.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ack;

/// The work is done.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Done;

/// Stop the current work.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Cancel;

/// Stop the actor, e.g. because the process is asked to stop.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Terminate;

/// Implements `From` for an enum's variants, see the
/// [`messages`](crate::messages) module.
///
/// Each item is one of:
///
/// | item | implements | send with |
/// |---|---|---|
/// | `Enum::Variant(Type)` | `From<Type> for Enum` | `try_send(value)` |
/// | `Enum::Variant(A, B, ...)` | `From<(A, B, ...)> for Enum`, filling the variant's fields | `try_send((a, b, ...))` |
/// | `Enum::Variant(Request) -> Response` | `From<RpcMessage<Request, Response>> for Enum` | `rpc(request)` |
/// | `Enum::Variant(A, B, ...) -> Response` | `From<RpcMessage<(A, B, ...), Response>> for Enum` | `rpc((a, b, ...))` |
///
/// where [`RpcMessage`](crate::actor_ref::RpcMessage) is the variant's one
/// field for the RPC forms.
///
/// ```
/// use kiln::actor_ref::RpcMessage;
/// use kiln::from_message;
///
/// enum Message {
///     /// Move to a point.
///     MoveTo(i32, i32),
///     /// The distance between two points.
///     Distance(RpcMessage<((i32, i32), (i32, i32)), u32>),
/// }
///
/// from_message!(
///     Message::MoveTo(i32, i32),
///     Message::Distance((i32, i32), (i32, i32)) -> u32,
/// );
///
/// let msg = Message::from((3, 4));
/// assert!(matches!(msg, Message::MoveTo(3, 4)));
/// ```
#[macro_export]
macro_rules! from_message {
    ($( $enum: ident :: $variant: ident ( $( $ty: ty ),+ ) $( -> $response: ty )? ),+ $(,)?) => {
        $(
            $crate::from_message!(@impl $enum :: $variant ( $( $ty ),+ ) $( -> $response )?);
        )+
    };
    (@impl $enum: ident :: $variant: ident ( $ty: ty )) => {
        impl ::std::convert::From<$ty> for $enum {
            fn from(msg: $ty) -> $enum {
                $enum::$variant(msg)
            }
        }
    };
    (@impl $enum: ident :: $variant: ident ( $request: ty ) -> $response: ty) => {
        impl ::std::convert::From<$crate::actor_ref::RpcMessage<$request, $response>> for $enum {
            fn from(msg: $crate::actor_ref::RpcMessage<$request, $response>) -> $enum {
                $enum::$variant(msg)
            }
        }
    };
    (@impl $enum: ident :: $variant: ident ( $( $request: ty ),+ ) -> $response: ty) => {
        $crate::from_message!(@impl $enum :: $variant ( ( $( $request ),+ ) ) -> $response);
    };
    (@impl $enum: ident :: $variant: ident ( $( $ty: ty ),+ )) => {
        $crate::from_message!(@fields $enum :: $variant [] [ $( $ty ),+ ]);
    };
    // Names the fields one by one: each `field` comes from another expansion
    // of this rule, so macro hygiene keeps them apart.
    (@fields $enum: ident :: $variant: ident [ $( $field: ident : $fty: ty ),* ] []) => {
        impl ::std::convert::From<( $( $fty, )* )> for $enum {
            fn from(( $( $field, )* ): ( $( $fty, )* )) -> $enum {
                $enum::$variant( $( $field ),* )
            }
        }
    };
    (@fields $enum: ident :: $variant: ident [ $( $field: ident : $fty: ty ),* ] [ $head: ty $( , $tail: ty )* ]) => {
        $crate::from_message!(@fields $enum :: $variant [ $( $field : $fty, )* field : $head ] [ $( $tail ),* ]);
    };
}
