//! Compiles `patchman/v1/*.proto` with protox (pure Rust, no protoc needed): messages and the
//! client from the .proto files; the server side of `ReportService` by hand, so that `Submit`
//! receives the report's raw bytes (see `src/raw.rs`).

use tonic_build::manual::{Builder, Method, Service};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["patchman/v1/report.proto"];
    for p in protos {
        println!("cargo:rerun-if-changed={p}");
    }
    let fds = protox::compile(protos, ["."])?;
    tonic_prost_build::configure().build_server(false).codec_path("crate::codec::StrictCodec").compile_fds(fds)?;

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
