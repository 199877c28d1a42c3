"""The Kubernetes versions the manifests are validated against (make test-kubernetes).

kubectl is supported against an API server one minor version older or newer than
itself (https://kubernetes.io/releases/version-skew-policy/#kubectl); the kubectl
these manifests are rendered and applied with is 1.32, so 1.31, 1.32 and 1.33.
kubernetes-validate ships the schemas of each (1.25 to 1.37 in the locked release).
docs/kubernetes.md names this list.
"""

KUBECTL_VERSION = "1.32"
KUBERNETES_VERSIONS = ("1.31", "1.32", "1.33")
