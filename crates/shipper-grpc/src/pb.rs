//! The protobuf messages and the gRPC client and server of `proto/shipper.proto`, generated at
//! build time (see `build.rs`).

#![allow(missing_docs, clippy::all, clippy::pedantic)]

tonic::include_proto!("shipper.v1");
