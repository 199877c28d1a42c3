"""Who may connect to a pod's port under a set of NetworkPolicies (ingress only).

The rules of https://kubernetes.io/docs/concepts/services-networking/network-policies/:
a pod that no Ingress policy selects accepts everyone; one that some do accepts the
union of their rules' sources, each rule applying to its ports (none listed: all).
A peer's podSelector alone means pods of the policy's namespace; a namespaceSelector
alone, every pod of the namespaces it selects; both, the pods it selects in those.

Sources are named from a small universe: the rendered pods (by workload name) and a
few pods of other namespaces a cluster has (the ingress controller, a monitoring
stack, a stranger in default); an ipBlock is reported as such.
"""

from dataclasses import dataclass

ANYONE = "anyone (no policy selects the pod, or a rule with no from)"


@dataclass(frozen=True)
class Source:
    name: str
    namespace: str
    labels: tuple


# Pods of other namespaces, with the labels their charts give them.
OUTSIDE = (
    Source(
        "ingress-nginx/controller",
        "ingress-nginx",
        (
            ("app.kubernetes.io/name", "ingress-nginx"),
            ("app.kubernetes.io/instance", "ingress-nginx"),
            ("app.kubernetes.io/component", "controller"),
        ),
    ),
    Source("monitoring/prometheus", "monitoring", (("app.kubernetes.io/name", "prometheus"),)),
    Source("default/stranger", "default", (("app", "stranger"),)),
    Source("kube-system/coredns", "kube-system", (("k8s-app", "kube-dns"),)),
)


def selects(selector: dict | None, labels: dict) -> bool:
    """A LabelSelector against labels; an empty selector selects everything."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise AssertionError(f"unknown selector operator {operator}")
    return True


def namespace_labels(name: str, namespaces: dict[str, dict]) -> dict:
    """A namespace's labels, with the one the API server adds to every namespace."""
    return {**namespaces.get(name, {}), "kubernetes.io/metadata.name": name}


def is_ingress(policy: dict) -> bool:
    types = policy["spec"].get("policyTypes")
    return "Ingress" in types if types else True


def port_matches(rule_port: dict, port: dict) -> bool:
    if rule_port.get("protocol", "TCP") != port.get("protocol", "TCP"):
        return False
    wanted = rule_port.get("port")
    if wanted is None:
        return True
    if isinstance(wanted, str):
        return wanted == port.get("name")
    return wanted <= port["containerPort"] <= rule_port.get("endPort", wanted)


def peers(peer: dict, policy_namespace: str, universe: list[Source], namespaces: dict[str, dict]) -> set[str]:
    if "ipBlock" in peer:
        return {f"ipBlock {peer['ipBlock']}"}

    def in_namespace(source: Source) -> bool:
        if "namespaceSelector" in peer:
            return selects(peer["namespaceSelector"], namespace_labels(source.namespace, namespaces))
        return source.namespace == policy_namespace

    return {
        source.name
        for source in universe
        if in_namespace(source) and selects(peer.get("podSelector"), dict(source.labels))
    }


def allowed_sources(
    pod_namespace: str, pod_labels: dict, port: dict, policies: list[dict], universe: list[Source], namespaces
) -> set[str]:
    selecting = [
        policy
        for policy in policies
        if is_ingress(policy)
        and policy["metadata"].get("namespace", "default") == pod_namespace
        and selects(policy["spec"].get("podSelector"), pod_labels)
    ]
    if not selecting:
        return {ANYONE}
    allowed: set[str] = set()
    for policy in selecting:
        for rule in policy["spec"].get("ingress") or []:
            if rule.get("ports") and not any(port_matches(p, port) for p in rule["ports"]):
                continue
            if not rule.get("from"):
                allowed.add(ANYONE)
                continue
            for peer in rule["from"]:
                allowed |= peers(peer, policy["metadata"].get("namespace", "default"), universe, namespaces)
    return allowed
