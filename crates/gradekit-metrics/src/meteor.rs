//! meteor (in progress).
