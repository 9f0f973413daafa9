//! The [`select!`](crate::select) macro: crossbeam's syntax over [`Select`](super::Select)'s machinery,
//! without allocating.
//!
//! The expansion, for `select! { recv(r) -> m => a, send(s, v) -> res => b, default(t) => c }`:
//!
//! ```text
//! match r { ref op0 => { let op0: &Receiver<_> = op0;          // evaluated once; `r` or `&r` both work
//!   match s { ref op1 => { let op1: &Sender<_> = op1;
//!     let operations = [Operation::recv(op0), Operation::send(op1)];
//!     match select(&operations, Wait::For(t)) {
//!         None => c,
//!         Some(selected) => if selected.index() == 0 { let m = selected.recv(op0); a }
//!                           else if selected.index() == 1 { let res = selected.send(op1, v); b }  // `v` only now
//!                           else { unreachable!() }
//!     }
//! }}}}
//! ```
//! The bodies run outside any closure, so `break`, `continue`, `return` and `?` work in them.

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
        $crate::__select_internal!(@parse () () ($($tokens)*))
    };
}

/// The internals of [`select!`]; not a public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_internal {
    // ---- @parse: normalise the arms into (recv r p body), (send s m p body), and the default -------------
    (@parse () () ()) => {
        ::std::compile_error!("empty `select!` block")
    };
    (@parse ($($arms:tt)*) $default:tt ()) => {
        $crate::__select_internal!(@bind ($($arms)*) $default () (
            (0 __select_op_0) (1 __select_op_1) (2 __select_op_2) (3 __select_op_3) (4 __select_op_4)
            (5 __select_op_5) (6 __select_op_6) (7 __select_op_7) (8 __select_op_8) (9 __select_op_9)
            (10 __select_op_10) (11 __select_op_11) (12 __select_op_12) (13 __select_op_13)
            (14 __select_op_14) (15 __select_op_15) (16 __select_op_16) (17 __select_op_17)
            (18 __select_op_18) (19 __select_op_19) (20 __select_op_20) (21 __select_op_21)
            (22 __select_op_22) (23 __select_op_23) (24 __select_op_24) (25 __select_op_25)
            (26 __select_op_26) (27 __select_op_27) (28 __select_op_28) (29 __select_op_29)
            (30 __select_op_30) (31 __select_op_31)
        ))
    };
    (@parse ($($arms:tt)*) $default:tt (recv($r:expr) -> $p:pat => $body:block, $($rest:tt)*)) => {
        $crate::__select_internal!(@parse ($($arms)* (recv $r $p $body)) $default ($($rest)*))
    };
    (@parse ($($arms:tt)*) $default:tt (recv($r:expr) -> $p:pat => $body:block $($rest:tt)*)) => {
        $crate::__select_internal!(@parse ($($arms)* (recv $r $p $body)) $default ($($rest)*))
    };
    (@parse ($($arms:tt)*) $default:tt (recv($r:expr) -> $p:pat => $body:expr, $($rest:tt)*)) => {
        $crate::__select_internal!(@parse ($($arms)* (recv $r $p $body)) $default ($($rest)*))
    };
    (@parse ($($arms:tt)*) $default:tt (recv($r:expr) -> $p:pat => $body:expr)) => {
        $crate::__select_internal!(@parse ($($arms)* (recv $r $p $body)) $default ())
    };
    (@parse ($($arms:tt)*) $default:tt (send($s:expr, $m:expr) -> $p:pat => $body:block, $($rest:tt)*)) => {
        $crate::__select_internal!(@parse ($($arms)* (send $s $m $p $body)) $default ($($rest)*))
    };
    (@parse ($($arms:tt)*) $default:tt (send($s:expr, $m:expr) -> $p:pat => $body:block $($rest:tt)*)) => {
        $crate::__select_internal!(@parse ($($arms)* (send $s $m $p $body)) $default ($($rest)*))
    };
    (@parse ($($arms:tt)*) $default:tt (send($s:expr, $m:expr) -> $p:pat => $body:expr, $($rest:tt)*)) => {
        $crate::__select_internal!(@parse ($($arms)* (send $s $m $p $body)) $default ($($rest)*))
    };
    (@parse ($($arms:tt)*) $default:tt (send($s:expr, $m:expr) -> $p:pat => $body:expr)) => {
        $crate::__select_internal!(@parse ($($arms)* (send $s $m $p $body)) $default ())
    };
    (@parse $arms:tt ($($default:tt)+) (default $($rest:tt)*)) => {
        ::std::compile_error!("there can be only one `default` arm in a `select!` block")
    };
    (@parse $arms:tt () (default => $body:block, $($rest:tt)*)) => {
        $crate::__select_internal!(@parse $arms (now $body) ($($rest)*))
    };
    (@parse $arms:tt () (default => $body:block $($rest:tt)*)) => {
        $crate::__select_internal!(@parse $arms (now $body) ($($rest)*))
    };
    (@parse $arms:tt () (default => $body:expr, $($rest:tt)*)) => {
        $crate::__select_internal!(@parse $arms (now $body) ($($rest)*))
    };
    (@parse $arms:tt () (default => $body:expr)) => {
        $crate::__select_internal!(@parse $arms (now $body) ())
    };
    (@parse $arms:tt () (default($t:expr) => $body:block, $($rest:tt)*)) => {
        $crate::__select_internal!(@parse $arms (timeout $t $body) ($($rest)*))
    };
    (@parse $arms:tt () (default($t:expr) => $body:block $($rest:tt)*)) => {
        $crate::__select_internal!(@parse $arms (timeout $t $body) ($($rest)*))
    };
    (@parse $arms:tt () (default($t:expr) => $body:expr, $($rest:tt)*)) => {
        $crate::__select_internal!(@parse $arms (timeout $t $body) ($($rest)*))
    };
    (@parse $arms:tt () (default($t:expr) => $body:expr)) => {
        $crate::__select_internal!(@parse $arms (timeout $t $body) ())
    };
    (@parse $arms:tt $default:tt ($($rest:tt)+)) => {
        ::std::compile_error!(::std::concat!(
            "expected `recv(r) -> result => body`, `send(s, message) -> result => body`, `default => body` or ",
            "`default(timeout) => body` in `select!`, found: ",
            ::std::stringify!($($rest)+)
        ))
    };

    // ---- @bind: evaluate each channel expression once, borrow it, name it ---------------------------------
    (@bind ((recv $r:tt $p:tt $body:tt) $($arms:tt)*) $default:tt ($($bound:tt)*) (($i:tt $op:ident) $($ops:tt)*)) => {
        match $r {
            ref $op => {
                let $op: &$crate::channel::Receiver<_> = $op;
                $crate::__select_internal!(@bind ($($arms)*) $default ($($bound)* (recv $i $op $p $body)) ($($ops)*))
            }
        }
    };
    (@bind ((send $s:tt $m:tt $p:tt $body:tt) $($arms:tt)*) $default:tt ($($bound:tt)*) (($i:tt $op:ident) $($ops:tt)*)) => {
        match $s {
            ref $op => {
                let $op: &$crate::channel::Sender<_> = $op;
                $crate::__select_internal!(@bind ($($arms)*) $default ($($bound)* (send $i $op $m $p $body)) ($($ops)*))
            }
        }
    };
    (@bind ($($arms:tt)+) $default:tt $bound:tt ()) => {
        ::std::compile_error!("too many operations in a `select!` block (at most 32)")
    };
    (@bind () $default:tt $bound:tt $ops:tt) => {
        $crate::__select_internal!(@run $default $bound)
    };

    // ---- @run: select, then complete the chosen operation and run its body -------------------------------
    (@run () ($($bound:tt)*)) => {{
        let __select_operations: &[$crate::channel::__private::Operation<'_>] =
            &[$($crate::__select_internal!(@operation $bound)),*];
        match $crate::channel::__private::select(__select_operations, $crate::channel::__private::Wait::Forever) {
            ::std::option::Option::Some(__select_selected) => {
                $crate::__select_internal!(@complete __select_selected ($($bound)*))
            }
            ::std::option::Option::None => ::std::unreachable!("a select without a deadline returns an operation"),
        }
    }};
    (@run (now $body:tt) ($($bound:tt)*)) => {{
        let __select_operations: &[$crate::channel::__private::Operation<'_>] =
            &[$($crate::__select_internal!(@operation $bound)),*];
        match $crate::channel::__private::select(__select_operations, $crate::channel::__private::Wait::Never) {
            ::std::option::Option::Some(__select_selected) => {
                $crate::__select_internal!(@complete __select_selected ($($bound)*))
            }
            ::std::option::Option::None => $body,
        }
    }};
    (@run (timeout $t:tt $body:tt) ($($bound:tt)*)) => {{
        let __select_operations: &[$crate::channel::__private::Operation<'_>] =
            &[$($crate::__select_internal!(@operation $bound)),*];
        let __select_wait = $crate::channel::__private::Wait::For($t);
        match $crate::channel::__private::select(__select_operations, __select_wait) {
            ::std::option::Option::Some(__select_selected) => {
                $crate::__select_internal!(@complete __select_selected ($($bound)*))
            }
            ::std::option::Option::None => $body,
        }
    }};
    (@operation (recv $i:tt $op:ident $p:tt $body:tt)) => {
        $crate::channel::__private::Operation::recv($op)
    };
    (@operation (send $i:tt $op:ident $m:tt $p:tt $body:tt)) => {
        $crate::channel::__private::Operation::send($op)
    };
    (@complete $selected:ident ((recv $i:tt $op:ident $p:tt $body:tt) $($rest:tt)*)) => {
        if $selected.index() == $i {
            let __select_result = $selected.recv($op);
            let $p = __select_result;
            $body
        } else {
            $crate::__select_internal!(@complete $selected ($($rest)*))
        }
    };
    (@complete $selected:ident ((send $i:tt $op:ident $m:tt $p:tt $body:tt) $($rest:tt)*)) => {
        if $selected.index() == $i {
            let __select_result = $selected.send($op, $m);
            let $p = __select_result;
            $body
        } else {
            $crate::__select_internal!(@complete $selected ($($rest)*))
        }
    };
    (@complete $selected:ident ()) => {
        ::std::unreachable!("select! chose an operation it does not have")
    };
}
