//! Generates the gRPC code from `proto/shipper.proto` with protox, a protobuf compiler in pure
//! Rust, so a fresh machine builds this crate with cargo alone (no `protoc`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/shipper.proto";
    println!("cargo:rerun-if-changed={proto}");
    let descriptors = protox::compile([proto], ["proto"])?;
    tonic_prost_build::configure().build_transport(false).compile_fds(descriptors)?;
    Ok(())
}
