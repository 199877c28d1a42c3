"""Each NetworkPolicy allows exactly the flows the manifests promise, evaluated pod by pod, port by port."""

from .network_policies import OUTSIDE, Source, allowed_sources, selects
from .rendering import NAMESPACE

INGRESS = "ingress-nginx/controller"
DATABASE_CLIENTS = {
    "auth-server",
    "resource-server",
    "team-server",
    "auth-migrate",
    "auth-seed",
    "resource-migrate",
    "team-migrate",
    "auth-housekeeping",
}


def expected_flows(overlay: str) -> dict[tuple[str, int], set[str]]:
    flows = {
        ("auth-server", 8000): {"resource-server", "team-server", INGRESS},
        ("resource-server", 8000): {INGRESS, "auth-server"},
        ("team-server", 8000): {INGRESS, "auth-server"},
        ("resource-redis", 6379): {"resource-server"},
        ("team-redis", 6379): {"team-server"},
        # gunicorn's metrics: closed until a cluster opens them to its Prometheus (docs/kubernetes.md).
        ("auth-server", 9100): set(),
        ("resource-server", 9100): set(),
        ("team-server", 9100): set(),
    }
    if overlay == "local":
        flows[("postgres", 5432)] = DATABASE_CLIENTS
    return flows


def universe(rendering) -> list[Source]:
    inside = [Source(name, pod.namespace, tuple(sorted(pod.labels.items()))) for name, pod in rendering.pods.items()]
    return inside + list(OUTSIDE)


def test_default_deny(rendering):
    policies = rendering.of_kind("NetworkPolicy")
    deny = [
        policy
        for policy in policies
        if policy["spec"].get("podSelector") in ({}, None)
        and policy["spec"].get("policyTypes") == ["Ingress"]
        and not policy["spec"].get("ingress")
    ]
    assert len(deny) == 1, f"{rendering.overlay}: default-deny policies: {[p['metadata']['name'] for p in deny]}"


def test_each_port_accepts_exactly_its_sources(rendering):
    policies = rendering.of_kind("NetworkPolicy")
    namespaces = {ns["metadata"]["name"]: ns["metadata"].get("labels", {}) for ns in rendering.of_kind("Namespace")}
    sources = universe(rendering)
    expected = expected_flows(rendering.overlay)
    actual = {}
    for name, pod in rendering.pods.items():
        ports = {(port["containerPort"], port.get("name")) for c in pod.containers() for port in c.get("ports", [])}
        # The servers' metrics port, declared or not: nobody reaches it.
        if (name, 9100) in expected:
            ports.add((9100, next((n for p, n in ports if p == 9100), None)))
        # A pod that declares no port (a Job) must not accept one either: ask about the app's port.
        ports = ports or {(8000, None)}
        for number, port_name in ports:
            port = {"containerPort": number, "name": port_name, "protocol": "TCP"}
            actual[(name, number)] = allowed_sources(pod.namespace, pod.labels, port, policies, sources, namespaces)
    wanted = {key: expected.get(key, set()) for key in actual}
    missing_ports = sorted(set(expected) - set(actual))
    assert not missing_ports, f"{rendering.overlay}: no such pod port: {missing_ports}"
    wrong = {
        f"{pod}:{port}": {"allowed": sorted(actual[(pod, port)]), "expected": sorted(wanted[(pod, port)])}
        for pod, port in sorted(actual)
        if actual[(pod, port)] != wanted[(pod, port)]
    }
    assert not wrong, f"{rendering.overlay}: {wrong}"


def test_every_policy_is_in_the_namespace_and_selects_pods(rendering):
    for policy in rendering.of_kind("NetworkPolicy"):
        assert policy["metadata"]["namespace"] == NAMESPACE
        selector = policy["spec"].get("podSelector") or {}
        if selector:
            # The stack's pods, and the solver cert-manager starts here for a production certificate.
            pods = {name: pod.labels for name, pod in rendering.pods.items()}
            if rendering.overlay == "production":
                pods["cert-manager's HTTP-01 solver"] = ACME_SOLVER
            selected = [name for name, labels in pods.items() if selects(selector, labels)]
            assert selected, f"NetworkPolicy {policy['metadata']['name']} selects no pod: {selector}"


# cert-manager's HTTP-01 solver: a pod it starts in the Ingress's namespace for each challenge,
# serving the token on port 8089, which the ingress controller must reach (cert-manager docs, "HTTP01").
ACME_SOLVER = {"acme.cert-manager.io/http01-solver": "true", "app": "cm-acme-http-solver"}


def test_acme_solver_is_reached_by_the_ingress_controller_only(rendering):
    policies = rendering.of_kind("NetworkPolicy")
    namespaces = {ns["metadata"]["name"]: ns["metadata"].get("labels", {}) for ns in rendering.of_kind("Namespace")}
    sources = universe(rendering)
    allowed = {
        number: allowed_sources(
            NAMESPACE, ACME_SOLVER, {"containerPort": number, "protocol": "TCP"}, policies, sources, namespaces
        )
        for number in (8089, 8000)
    }
    # Production's certificate comes from cert-manager; the local overlay issues none.
    expected = {INGRESS} if rendering.overlay == "production" else set()
    assert allowed == {8089: expected, 8000: set()}, f"{rendering.overlay}: {allowed}"
