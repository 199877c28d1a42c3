"""django-prometheus's middleware, every label of its HTTP series from a bounded set.

Apart from shared/metrics.py, which gunicorn's configuration imports before it
names PROMETHEUS_MULTIPROC_DIR: this module imports prometheus_client, which
reads that variable once, as it is imported.
"""

from django_prometheus.middleware import PrometheusAfterMiddleware as Library


class PrometheusAfterMiddleware(Library):
    """django-prometheus's ``PrometheusAfterMiddleware``, a method it does not know always ``<invalid method>``.

    Its latency histogram (``django_http_requests_latency_seconds_by_view_method``)
    takes ``request.method`` as sent (django_prometheus/middleware.py, process_response
    and process_exception), where its other series fold an unknown method into
    ``<invalid method>`` (``_method``). gunicorn lets through any upper-case token of 3
    to 20 characters, so each invented method would add a series, without end.
    ``label_metric`` is the library's hook for every labelled series. The view label is
    bounded already: the URL pattern's name, ``<unnamed view>`` for a path that matches
    none.
    """

    def label_metric(self, metric, request, response=None, **labels):
        if "method" in labels:
            labels["method"] = self._method(request)
        return super().label_metric(metric, request, response, **labels)
