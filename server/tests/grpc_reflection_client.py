"""A gRPC client of another implementation (Debian's python3-grpcio) that knows nothing of
patchman's .proto files: it lists the services through server reflection, fetches their
descriptors, builds the messages from them, calls QueryService.GetSummary and ListHosts with
an API token, and asks grpc.health.v1 for each service's health. Prints one JSON object.

Usage: grpc_reflection_client.py HOST:PORT TOKEN
"""

import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

REFLECTION = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_bytes(number, payload):
    """A length-delimited protobuf field, written by hand: the reflection request is the one
    message this client has no descriptor for yet."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def read_fields(data):
    """(field number, wire type, value) of a protobuf message, read by hand."""
    i = 0
    while i < len(data):
        key, i = read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(data, i)
        elif wire == 2:
            length, i = read_varint(data, i)
            value, i = data[i : i + length], i + length
        else:
            raise ValueError(f"wire type {wire}")
        yield number, wire, value


def read_varint(data, i):
    shift = value = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def reflect(channel, request):
    call = channel.stream_stream(REFLECTION, request_serializer=lambda b: b, response_deserializer=lambda b: b)
    (response,) = list(call(iter([request]), timeout=10))
    return response


def main():
    target, token = sys.argv[1], sys.argv[2]
    channel = grpc.insecure_channel(target)
    # list_services = 7 (a string); the answer's list_services_response = 6 holds services = 1,
    # each with name = 1.
    services = []
    for number, _, value in read_fields(reflect(channel, field_bytes(7, b"*"))):
        if number == 6:
            for n, _, service in read_fields(value):
                if n == 1:
                    services.extend(v.decode() for k, _, v in read_fields(service) if k == 1)
    # file_containing_symbol = 4; the answer's file_descriptor_response = 4 holds
    # file_descriptor_proto = 1 (repeated bytes).
    pool = descriptor_pool.DescriptorPool()
    added = set()
    def files_of(request):
        answer = reflect(channel, request)
        files = [v for n, _, r in read_fields(answer) if n == 4 for k, _, v in read_fields(r) if k == 1]
        return [descriptor_pb2.FileDescriptorProto.FromString(f) for f in files]

    protos = files_of(field_bytes(4, b"patchman.v1.QueryService"))
    # Dependencies the server did not send with it: file_by_filename = 3.
    wanted = [d for p in protos for d in p.dependency]
    while wanted:
        name = wanted.pop()
        if any(p.name == name for p in protos):
            continue
        more = files_of(field_bytes(3, name.encode()))
        protos.extend(more)
        wanted.extend(d for p in more for d in p.dependency)
    while protos:
        ready = [p for p in protos if all(d in added for d in p.dependency)]
        if not ready:
            raise RuntimeError("descriptors with missing dependencies")
        for p in ready:
            pool.Add(p)
            added.add(p.name)
            protos.remove(p)

    def message(name):
        return message_factory.MessageFactory(pool).GetPrototype(pool.FindMessageTypeByName(name))

    auth = [("authorization", f"Bearer {token}")]
    summary_type = message("patchman.v1.Summary")
    get_summary = channel.unary_unary(
        "/patchman.v1.QueryService/GetSummary",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=summary_type.FromString,
    )
    summary = get_summary(message("patchman.v1.GetSummaryRequest")(), metadata=auth, timeout=10)
    list_hosts = channel.unary_unary(
        "/patchman.v1.QueryService/ListHosts",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=message("patchman.v1.ListHostsResponse").FromString,
    )
    hosts = list_hosts(message("patchman.v1.ListHostsRequest")(filter="tag=web"), metadata=auth, timeout=10)
    try:
        get_summary(message("patchman.v1.GetSummaryRequest")(), timeout=10)
        refused = "OK"
    except grpc.RpcError as e:
        refused = e.code().name
    # grpc.health.v1.Health/Check: HealthCheckRequest.service = 1; the answer's status = 1
    # (1 is SERVING).
    check = channel.unary_unary(
        "/grpc.health.v1.Health/Check", request_serializer=lambda b: b, response_deserializer=lambda b: b
    )
    health = {}
    for service in ["", "patchman.v1.QueryService", "patchman.v1.ReportService"]:
        answer = check(field_bytes(1, service.encode()), timeout=10)
        status = dict((n, v) for n, _, v in read_fields(answer)).get(1, 0)
        health[service or "(server)"] = status
    print(
        json.dumps(
            {
                "services": sorted(services),
                "summary": json.loads(json_format.MessageToJson(summary)),
                "web_hosts": [h.hostname for h in hosts.hosts],
                "without_token": refused,
                "health": health,
            }
        )
    )


if __name__ == "__main__":
    main()
