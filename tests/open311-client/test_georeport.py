"""minsheng's Open311 interface as an existing client library sees it.

Starts `minsheng serve --demo` on a fresh database, registers an outside channel and its API key
with the real CLI, submits a request, then reads everything back through the PyPI `georeport`
client in both of its formats (JSON and XML, the latter parsed by xmltodict).
"""

import os
import re
import subprocess
import tempfile
import time
import unittest

import requests
from georeport import GeoReport

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("MINSHENG_BIN", os.path.join(ROOT, "target", "debug", "minsheng"))


class Server:
    def __init__(self):
        self.dir = tempfile.TemporaryDirectory(prefix="minsheng-open311-")
        self.db = os.path.join(self.dir.name, "city.db")
        self.process = subprocess.Popen(
            [BIN, "serve", "--demo", "--demo-days", "2", "--db", self.db, "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        deadline = time.time() + 240
        self.url = None
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            found = re.search(r"minsheng is serving (http://[0-9.:]+)/", line)
            if found:
                self.url = found.group(1)
                break
        if self.url is None:
            self.stop()
            raise RuntimeError("the server did not start")

    def cli(self, *args):
        done = subprocess.run([BIN, *args, "--db", self.db], capture_output=True, text=True, check=True)
        return done.stdout

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.dir.cleanup()


class GeoReportClient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.root = f"{cls.server.url}/open311/v2"
        cls.server.cli("user", "add", "--name", "app-georeport", "--display-name", "GeoReport client",
                       "--org", "channel", "--role", "channel_client")
        out = cls.server.cli("token", "create", "--user", "app-georeport", "--label", "open311")
        cls.key = next(line for line in out.splitlines() if line.startswith("ms_"))
        cls.request_id = cls.submit()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    @classmethod
    def submit(cls):
        form = {
            "api_key": cls.key, "jurisdiction_id": "city", "service_code": "040201",
            "lat": "30.55", "long": "114.31", "address_string": "东湖区湖滨街道幸福路8号",
            "attribute[noise_periods][]": ["evening", "night"], "attribute[nights_per_week]": "4",
            "description": "楼下广场舞音响太响，每晚到十点半", "first_name": "敏", "last_name": "周",
            "phone": "13600001234", "email": "",
            # The citizen agreed to publish the request (an extension; without it the words are
            # withheld and the place is only its street).
            "public": "true",
        }
        # The server notices an account created by another process within about a second.
        for _ in range(20):
            response = requests.post(f"{cls.root}/requests.json", data=form, timeout=10)
            if response.status_code != 403:
                break
            time.sleep(0.5)
        assert response.status_code == 201, response.text
        return response.json()[0]["service_request_id"]

    def test_services_in_both_formats(self):
        for fmt in ("json", "xml"):
            client = GeoReport(self.root, jurisdiction="city", output_format=fmt)
            services = client.get_service_list()
            self.assertGreater(len(services), 500, fmt)
            noise = next(s for s in services if s["service_code"] == "040201")
            self.assertEqual(noise["service_name"], "噪声污染")
            self.assertIn(str(noise["metadata"]).lower(), ("true",))

    def test_service_definition_in_both_formats(self):
        definition = GeoReport(self.root, output_format="json").get_service_definition("040201")
        codes = [a["code"] for a in definition["attributes"]]
        self.assertIn("noise_periods", codes)
        xml = GeoReport(self.root, output_format="xml").get_service_definition("040201")
        attributes = xml["attributes"]["attribute"]
        periods = next(a for a in attributes if a["code"] == "noise_periods")
        self.assertEqual(periods["datatype"], "multivaluelist")
        self.assertEqual(len(periods["values"]["value"]), 4)

    def test_the_submitted_request_reads_back_without_the_reporter(self):
        for fmt in ("json", "xml"):
            client = GeoReport(self.root, jurisdiction="city", output_format=fmt)
            one = client.get_service_request(self.request_id)
            self.assertEqual(one["service_request_id"], self.request_id, fmt)
            self.assertEqual(one["status"], "open")
            self.assertEqual(one["service_code"], "040201")
            self.assertIn("广场舞", one["description"])
            listed = client.get_service_requests(service_request_id=self.request_id)
            listed = listed if isinstance(listed, list) else [listed]
            self.assertEqual([r["service_request_id"] for r in listed], [self.request_id])
            text = str(one) + str(listed)
            for personal in ("13600001234", "1234", "周敏", "周*"):
                self.assertNotIn(personal, text, fmt)

    def test_filters_reach_the_server(self):
        client = GeoReport(self.root, output_format="json")
        open_noise = client.get_service_requests(service_code="040201", status="open")
        self.assertIn(self.request_id, [r["service_request_id"] for r in open_noise])
        self.assertEqual(client.get_service_requests(start_date="2030-01-01T00:00:00Z"), [])
        with self.assertRaises(requests.HTTPError) as refused:
            client.get_service_requests(status="pending")
        self.assertEqual(refused.exception.response.status_code, 400)
        self.assertEqual(refused.exception.response.json()[0]["code"], 400)


if __name__ == "__main__":
    unittest.main(verbosity=2)
