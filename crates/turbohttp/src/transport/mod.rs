//! The transport: everything between a URL's authority and a connected stream.

pub mod connection;
