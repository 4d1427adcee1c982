//! Compiles `patchman/v1/*.proto` with protox (pure Rust, no protoc needed): messages,
//! clients and the query services' servers from the .proto files; the server side of
//! `ReportService` by hand, so that `Submit` receives the report's raw bytes (see
//! `src/raw.rs`). The encoded descriptors are kept for gRPC server reflection.

use tonic_build::manual::{Builder, Method, Service};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["patchman/v1/report.proto", "patchman/v1/query.proto"];
    for p in protos {
        println!("cargo:rerun-if-changed={p}");
    }
    let fds = protox::compile(protos, ["."])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("patchman_descriptor.bin"), prost::Message::encode_to_vec(&fds))?;
    tonic_prost_build::configure().codec_path("crate::codec::StrictCodec").compile_fds(fds)?;

    let service = Service::builder()
        .name("ReportService")
        .package("patchman.v1")
        .method(
            Method::builder()
                .name("submit")
                .route_name("Submit")
                .input_type("crate::RawReport")
                .output_type("crate::SubmitResponse")
                .codec_path("crate::codec::RawReportCodec")
                .build(),
        )
        .method(
            Method::builder()
                .name("submit_digest")
                .route_name("SubmitDigest")
                .input_type("crate::ReportDigest")
                .output_type("crate::SubmitResponse")
                .codec_path("crate::codec::StrictCodec")
                .build(),
        )
        .method(
            Method::builder()
                .name("enroll")
                .route_name("Enroll")
                .input_type("crate::EnrollRequest")
                .output_type("crate::EnrollResponse")
                .codec_path("crate::codec::StrictCodec")
                .build(),
        )
        .build();
    Builder::new().build_client(false).compile(&[service]);
    Ok(())
}
