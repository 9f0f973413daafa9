//! The [`select!`](crate::select) macro: crossbeam's syntax over [`Select`](super::Select)'s machinery,
//! without allocating.
//!
//! The expansion, for `select! { recv(r) -> m => a, send(s, v) -> res => b, default(t) => c }`:
//!
//! ```text
//! match r { ref op0 => { let op0: &Receiver<_> = op0;          // evaluated once; `r` or `&r` both work
//!   match s { ref op1 => { let op1: &Sender<_> = op1;
//!     let operations = &[Operation::recv(op0), Operation::send(op1)];
//!     let (mut result0, mut result1) = (None, None);
//!     let chosen = {                                            // the selection ends with this block
//!         match select(operations, Wait::For(t)) {
//!             None => None,
//!             Some(selected) => {
//!                 let index = selected.index();
//!                 if index == 0 { result0 = Some(selected.recv(op0)) }
//!                 else if index == 1 { result1 = Some(selected.send(op1, v)) }   // `v` only now
//!                 Some(index)
//!             }
//!         }
//!     };
//!     if chosen == Some(0) { let m = result0.unwrap(); a }
//!     else if chosen == Some(1) { let res = result1.unwrap(); b }
//!     else { c }
//! }}}}
//! ```
//! The bodies run outside any closure, so `break`, `continue`, `return` and `?` work in them.

#![forbid(unsafe_code)]

/// Waits on several channel operations and runs the arm of the one performed; crossbeam's `select!`.
///
/// Arms:
/// - `recv(receiver) -> result => body`: `result` is `Result<T, RecvError>`.
/// - `send(sender, message) -> result => body`: `result` is `Result<(), SendError<T>>`; `message` is
///   evaluated only if this arm is chosen.
/// - `default => body`: runs if no operation is ready right now (the select does not wait).
/// - `default(timeout) => body`: runs if no operation becomes ready within `timeout`.
///
/// An operation is ready when it would not wait — also when it would fail because the channel is
/// disconnected. When several are ready, one is chosen at random. Bodies are expressions separated by commas,
/// or blocks. At most 32 operations.
///
/// In a green thread only that green thread waits. A cancellation point.
///
/// ```
/// use std::time::Duration;
/// use green::channel::{bounded, unbounded};
///
/// green::run(|| {
///     let (s1, r1) = unbounded();
///     let (s2, r2) = bounded(1);
///     s1.send(10).unwrap();
///
///     // Both operations are ready: one of them runs.
///     green::select! {
///         recv(r1) -> message => assert_eq!(message, Ok(10)),
///         send(s2, 20) -> result => {
///             assert_eq!(result, Ok(()));
///             assert_eq!(r2.recv(), Ok(20));
///         }
///     }
///
///     // Nothing arrives on an empty channel: the timeout arm runs.
///     let (_s3, r3) = unbounded::<i32>();
///     green::select! {
///         recv(r3) -> message => panic!("unexpected {message:?}"),
///         default(Duration::from_millis(10)) => println!("timed out"),
///     }
/// });
/// ```
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__select_internal!(@parse random () () ($($tokens)*))
    };
}

/// Like [`select!`], but when several operations are ready it chooses the first one listed: crossbeam's
/// `select_biased!`.
///
/// Cheaper than `select!` (no shuffle), and the way to give one channel priority — at the price of fairness:
/// while the first operation stays ready, the others are never chosen.
///
/// ```
/// use green::channel::unbounded;
///
/// let (urgent_sender, urgent) = unbounded();
/// let (normal_sender, normal) = unbounded();
/// normal_sender.send("normal").unwrap();
/// urgent_sender.send("urgent").unwrap();
/// let mut order = Vec::new();
/// for _ in 0..2 {
///     green::select_biased! {
///         recv(urgent) -> message => order.push(message.unwrap()),
///         recv(normal) -> message => order.push(message.unwrap()),
///     }
/// }
/// assert_eq!(order, ["urgent", "normal"]);
/// ```
#[macro_export]
macro_rules! select_biased {
    ($($tokens:tt)*) => {
        $crate::__select_internal!(@parse biased () () ($($tokens)*))
    };
}

/// The internals of [`select!`]; not a public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_internal {
    // ---- @parse: normalise the arms into (recv r p body), (send s m p body), and the default -------------
    (@parse $mode:ident () () ()) => {
        ::std::compile_error!("empty `select!` block")
    };
    (@parse $mode:ident ($($arms:tt)*) $default:tt ()) => {
        $crate::__select_internal!(@bind $mode ($($arms)*) $default () (
            (0 __select_op_0 __select_result_0) (1 __select_op_1 __select_result_1)
            (2 __select_op_2 __select_result_2) (3 __select_op_3 __select_result_3)
            (4 __select_op_4 __select_result_4) (5 __select_op_5 __select_result_5)
            (6 __select_op_6 __select_result_6) (7 __select_op_7 __select_result_7)
            (8 __select_op_8 __select_result_8) (9 __select_op_9 __select_result_9)
            (10 __select_op_10 __select_result_10) (11 __select_op_11 __select_result_11)
            (12 __select_op_12 __select_result_12) (13 __select_op_13 __select_result_13)
            (14 __select_op_14 __select_result_14) (15 __select_op_15 __select_result_15)
            (16 __select_op_16 __select_result_16) (17 __select_op_17 __select_result_17)
            (18 __select_op_18 __select_result_18) (19 __select_op_19 __select_result_19)
            (20 __select_op_20 __select_result_20) (21 __select_op_21 __select_result_21)
            (22 __select_op_22 __select_result_22) (23 __select_op_23 __select_result_23)
            (24 __select_op_24 __select_result_24) (25 __select_op_25 __select_result_25)
            (26 __select_op_26 __select_result_26) (27 __select_op_27 __select_result_27)
            (28 __select_op_28 __select_result_28) (29 __select_op_29 __select_result_29)
            (30 __select_op_30 __select_result_30) (31 __select_op_31 __select_result_31)
        ))
    };
    (@parse $mode:ident ($($arms:tt)*) $default:tt (recv($r:expr) -> $p:pat => $body:block, $($rest:tt)*)) => {
        $crate::__select_internal!(@parse $mode ($($arms)* (recv $r $p $body)) $default ($($rest)*))
    };
    (@parse $mode:ident ($($arms:tt)*) $default:tt (recv($r:expr) -> $p:pat => $body:block $($rest:tt)*)) => {
        $crate::__select_internal!(@parse $mode ($($arms)* (recv $r $p $body)) $default ($($rest)*))
    };
    (@parse $mode:ident ($($arms:tt)*) $default:tt (recv($r:expr) -> $p:pat => $body:expr, $($rest:tt)*)) => {
        $crate::__select_internal!(@parse $mode ($($arms)* (recv $r $p $body)) $default ($($rest)*))
    };
    (@parse $mode:ident ($($arms:tt)*) $default:tt (recv($r:expr) -> $p:pat => $body:expr)) => {
        $crate::__select_internal!(@parse $mode ($($arms)* (recv $r $p $body)) $default ())
    };
    (@parse $mode:ident ($($arms:tt)*) $default:tt (send($s:expr, $m:expr) -> $p:pat => $body:block, $($rest:tt)*)) => {
        $crate::__select_internal!(@parse $mode ($($arms)* (send $s $m $p $body)) $default ($($rest)*))
    };
    (@parse $mode:ident ($($arms:tt)*) $default:tt (send($s:expr, $m:expr) -> $p:pat => $body:block $($rest:tt)*)) => {
        $crate::__select_internal!(@parse $mode ($($arms)* (send $s $m $p $body)) $default ($($rest)*))
    };
    (@parse $mode:ident ($($arms:tt)*) $default:tt (send($s:expr, $m:expr) -> $p:pat => $body:expr, $($rest:tt)*)) => {
        $crate::__select_internal!(@parse $mode ($($arms)* (send $s $m $p $body)) $default ($($rest)*))
    };
    (@parse $mode:ident ($($arms:tt)*) $default:tt (send($s:expr, $m:expr) -> $p:pat => $body:expr)) => {
        $crate::__select_internal!(@parse $mode ($($arms)* (send $s $m $p $body)) $default ())
    };
    (@parse $mode:ident $arms:tt ($($default:tt)+) (default $($rest:tt)*)) => {
        ::std::compile_error!("there can be only one `default` arm in a `select!` block")
    };
    (@parse $mode:ident $arms:tt () (default => $body:block, $($rest:tt)*)) => {
        $crate::__select_internal!(@parse $mode $arms (now $body) ($($rest)*))
    };
    (@parse $mode:ident $arms:tt () (default => $body:block $($rest:tt)*)) => {
        $crate::__select_internal!(@parse $mode $arms (now $body) ($($rest)*))
    };
    (@parse $mode:ident $arms:tt () (default => $body:expr, $($rest:tt)*)) => {
        $crate::__select_internal!(@parse $mode $arms (now $body) ($($rest)*))
    };
    (@parse $mode:ident $arms:tt () (default => $body:expr)) => {
        $crate::__select_internal!(@parse $mode $arms (now $body) ())
    };
    (@parse $mode:ident $arms:tt () (default($t:expr) => $body:block, $($rest:tt)*)) => {
        $crate::__select_internal!(@parse $mode $arms (timeout $t $body) ($($rest)*))
    };
    (@parse $mode:ident $arms:tt () (default($t:expr) => $body:block $($rest:tt)*)) => {
        $crate::__select_internal!(@parse $mode $arms (timeout $t $body) ($($rest)*))
    };
    (@parse $mode:ident $arms:tt () (default($t:expr) => $body:expr, $($rest:tt)*)) => {
        $crate::__select_internal!(@parse $mode $arms (timeout $t $body) ($($rest)*))
    };
    (@parse $mode:ident $arms:tt () (default($t:expr) => $body:expr)) => {
        $crate::__select_internal!(@parse $mode $arms (timeout $t $body) ())
    };
    (@parse $mode:ident $arms:tt $default:tt ($($rest:tt)+)) => {
        ::std::compile_error!(::std::concat!(
            "expected `recv(r) -> result => body`, `send(s, message) -> result => body`, `default => body` or ",
            "`default(timeout) => body` in `select!`, found: ",
            ::std::stringify!($($rest)+)
        ))
    };

    // ---- @bind: evaluate each channel expression once, borrow it, name it ---------------------------------
    (@bind $mode:ident ((recv $r:tt $p:tt $body:tt) $($arms:tt)*) $default:tt ($($bound:tt)*)
        (($i:tt $op:ident $result:ident) $($ops:tt)*)) => {
        match $r {
            ref $op => {
                let $op: &$crate::channel::Receiver<_> = $op;
                $crate::__select_internal!(
                    @bind $mode ($($arms)*) $default ($($bound)* (recv $i $op $result $p $body)) ($($ops)*)
                )
            }
        }
    };
    (@bind $mode:ident ((send $s:tt $m:tt $p:tt $body:tt) $($arms:tt)*) $default:tt ($($bound:tt)*)
        (($i:tt $op:ident $result:ident) $($ops:tt)*)) => {
        match $s {
            ref $op => {
                let $op: &$crate::channel::Sender<_> = $op;
                $crate::__select_internal!(
                    @bind $mode ($($arms)*) $default ($($bound)* (send $i $op $result $m $p $body)) ($($ops)*)
                )
            }
        }
    };
    (@bind $mode:ident ($($arms:tt)+) $default:tt $bound:tt ()) => {
        ::std::compile_error!("too many operations in a `select!` block (at most 32)")
    };
    (@bind $mode:ident () $default:tt $bound:tt $ops:tt) => {
        $crate::__select_internal!(@run $mode $default $bound)
    };

    // ---- @run: select and complete in an inner block, then run the chosen body ----------------------------
    // The selection (which holds a reservation and borrows the channels) ends with the inner block; each
    // arm's result waits in its own variable, so the bodies may move or reassign the channels' owners.
    (@run $mode:ident $default:tt ($($bound:tt)*)) => {{
        let __select_operations: &[$crate::channel::__private::Operation<'_>] =
            &[$($crate::__select_internal!(@operation $bound)),*];
        $($crate::__select_internal!(@declare $bound);)*
        let __select_chosen: ::std::option::Option<usize> = {
            let __select_selected = $crate::channel::__private::select_in(
                __select_operations,
                $crate::__select_internal!(@wait $default),
                $crate::__select_internal!(@biased $mode),
            );
            match __select_selected {
                ::std::option::Option::None => ::std::option::Option::None,
                ::std::option::Option::Some(__select_selected) => {
                    let __select_index = __select_selected.index();
                    $crate::__select_internal!(@complete __select_selected __select_index ($($bound)*));
                    ::std::option::Option::Some(__select_index)
                }
            }
        };
        $crate::__select_internal!(@dispatch __select_chosen $default ($($bound)*))
    }};
    (@biased random) => { false };
    (@biased biased) => { true };
    (@wait ()) => { $crate::channel::__private::Wait::Forever };
    (@wait (now $body:tt)) => { $crate::channel::__private::Wait::Never };
    (@wait (timeout $t:tt $body:tt)) => { $crate::channel::__private::Wait::For($t) };
    (@operation (recv $i:tt $op:ident $result:ident $p:tt $body:tt)) => {
        $crate::channel::__private::Operation::recv($op)
    };
    (@operation (send $i:tt $op:ident $result:ident $m:tt $p:tt $body:tt)) => {
        $crate::channel::__private::Operation::send($op)
    };
    (@declare (recv $i:tt $op:ident $result:ident $p:tt $body:tt)) => {
        let mut $result = ::std::option::Option::None;
    };
    (@declare (send $i:tt $op:ident $result:ident $m:tt $p:tt $body:tt)) => {
        let mut $result = ::std::option::Option::None;
    };
    (@complete $selected:ident $index:ident ((recv $i:tt $op:ident $result:ident $p:tt $body:tt) $($rest:tt)*)) => {
        if $index == $i {
            $result = ::std::option::Option::Some($selected.recv($op));
        } else {
            $crate::__select_internal!(@complete $selected $index ($($rest)*))
        }
    };
    (@complete $selected:ident $index:ident
        ((send $i:tt $op:ident $result:ident $m:tt $p:tt $body:tt) $($rest:tt)*)) => {
        if $index == $i {
            $result = ::std::option::Option::Some($selected.send($op, $m));
        } else {
            $crate::__select_internal!(@complete $selected $index ($($rest)*))
        }
    };
    (@complete $selected:ident $index:ident ()) => {
        ::std::unreachable!("select! chose an operation it does not have")
    };
    (@dispatch $chosen:ident $default:tt ((recv $i:tt $op:ident $result:ident $p:tt $body:tt) $($rest:tt)*)) => {
        if $chosen == ::std::option::Option::Some($i) {
            let $p = $crate::__select_internal!(@take $result);
            $body
        } else {
            $crate::__select_internal!(@dispatch $chosen $default ($($rest)*))
        }
    };
    (@dispatch $chosen:ident $default:tt
        ((send $i:tt $op:ident $result:ident $m:tt $p:tt $body:tt) $($rest:tt)*)) => {
        if $chosen == ::std::option::Option::Some($i) {
            let $p = $crate::__select_internal!(@take $result);
            $body
        } else {
            $crate::__select_internal!(@dispatch $chosen $default ($($rest)*))
        }
    };
    (@dispatch $chosen:ident () ()) => {
        ::std::unreachable!("a select without a deadline returns an operation")
    };
    (@dispatch $chosen:ident (now $body:tt) ()) => {
        $body
    };
    (@dispatch $chosen:ident (timeout $t:tt $body:tt) ()) => {
        $body
    };
    (@take $result:ident) => {
        match $result {
            ::std::option::Option::Some(__select_result) => __select_result,
            ::std::option::Option::None => ::std::unreachable!("the chosen operation was completed"),
        }
    };
}
