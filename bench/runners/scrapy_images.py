"""Scrapy doing the job: a spider yields each page's text and image URLs; ImagesPipeline (Pillow) fetches and
stores every distinct image, a small pipeline writes the text. Speaks the harness protocol (lib/proc.mjs):
{"ready": true}, wait for a line on stdin, {"result": {...}}, exit when stdin closes.
Argument: JSON {base, pages: [paths], concurrency, outDir, images: false for the text-only job}."""
import json
import os
import re
import sys
import time

import scrapy
from scrapy.crawler import CrawlerProcess

args = json.loads(sys.argv[1])
out_dir = args["outDir"]
os.makedirs(os.path.join(out_dir, "text"), exist_ok=True)
counts = {"pages": 0}


class TextPipeline:
    def process_item(self, item, spider=None):
        with open(os.path.join(out_dir, "text", f"{item['n']}.txt"), "w", encoding="utf-8") as f:
            f.write(item["text"])
        counts["pages"] += 1
        return item


class PagesSpider(scrapy.Spider):
    name = "bench"

    async def start(self):
        for n, path in enumerate(args["pages"]):
            yield scrapy.Request(args["base"] + path, cb_kwargs={"n": n})

    def start_requests(self):  # Scrapy < 2.13
        for n, path in enumerate(args["pages"]):
            yield scrapy.Request(args["base"] + path, cb_kwargs={"n": n})

    def parse(self, response, n):
        text = " ".join(response.xpath("//body//text()[not(ancestor::script) and not(ancestor::style) and not(ancestor::noscript)]").getall())
        yield {
            "n": n,
            "text": re.sub(r"\s+", " ", text).strip(),
            "image_urls": [response.urljoin(src) for src in response.css("img::attr(src)").getall()] if args.get("images", True) else [],
        }


process = CrawlerProcess(
    settings={
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": False,
        "ROBOTSTXT_OBEY": False,
        "CONCURRENT_REQUESTS": args["concurrency"],
        "CONCURRENT_REQUESTS_PER_DOMAIN": args["concurrency"],
        "DOWNLOAD_DELAY": 0,
        "ITEM_PIPELINES": {"scrapy.pipelines.images.ImagesPipeline": 1, TextPipeline: 300},
        "IMAGES_STORE": os.path.join(out_dir, "images"),
        "USER_AGENT": "scrapeds-bench-scrapy/1",
    }
)
process.crawl(PagesSpider)
print(json.dumps({"ready": True}), flush=True)
sys.stdin.readline()
t0 = time.perf_counter()
process.start()
seconds = time.perf_counter() - t0
images = sum(len(files) for _, _, files in os.walk(os.path.join(out_dir, "images")))
print(json.dumps({"result": {"seconds": seconds, "pages": counts["pages"], "images": images, "failed": 0}}), flush=True)
sys.stdin.read()
