// Prints AWS's own partition data as [{region, dnsSuffix}]: every region AWS lists, and for each partition one
// region it does not list yet but whose name its pattern matches (e.g. a new eusc-de-... region), resolved by
// the AWS SDK's partition() — what the ECS adapter's endpoint domains are checked against.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { partition } from '@aws-sdk/util-endpoints';

const here = path.dirname(fileURLToPath(import.meta.url));
const source = fs.readFileSync(path.join(here, 'node_modules/@aws-sdk/core/dist-es/submodules/client/util-endpoints/lib/aws/partitions.js'), 'utf8');
const data = JSON.parse(source.slice(source.indexOf('{'), source.lastIndexOf('}') + 1));
const out = [];
for (const p of data.partitions) {
  const regions = Object.keys(p.regions).filter((r) => new RegExp(p.regionRegex).test(r));
  for (const region of regions) out.push({ partition: p.id, region, dnsSuffix: partition(region).dnsSuffix });
  if (regions.length) {
    const unlisted = regions[0].replace(/\d+$/, '97');
    out.push({ partition: p.id, region: unlisted, dnsSuffix: partition(unlisted).dnsSuffix });
  }
}
console.log(JSON.stringify(out));
