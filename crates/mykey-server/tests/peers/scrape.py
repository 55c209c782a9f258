"""Scrapes the platform's /metrics twice, a moment apart, with Prometheus's own Python client
(prometheus_client, from PyPI) parsing the OpenMetrics text strictly; prints what it found as
one JSON line: how many families, the requests counted at each scrape, the histogram buckets."""

import json
import sys
import time
import urllib.request

from prometheus_client.openmetrics.parser import text_string_to_metric_families


def scrape(url, token):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.headers["Content-Type"].startswith("application/openmetrics-text"), resp.headers
        return resp.read().decode("utf-8")


def summary(text):
    families = list(text_string_to_metric_families(text))
    requests = 0.0
    buckets = 0
    for f in families:
        for s in f.samples:
            if s.name == "mykey_http_requests_total":
                requests += s.value
            if s.name == "mykey_http_request_duration_seconds_bucket":
                buckets += 1
    return families, requests, buckets


def main():
    url, token = sys.argv[1], sys.argv[2]
    families, before, _ = summary(scrape(url, token))
    time.sleep(0.5)
    families, after, buckets = summary(scrape(url, token))
    types = sorted({f.type for f in families})
    print(json.dumps({
        "families": len(families),
        "types": types,
        "requests_before": before,
        "requests_after": after,
        "histogram_buckets": buckets,
    }))


if __name__ == "__main__":
    main()
