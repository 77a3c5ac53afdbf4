/**
 * eld's tables as the build writes them (scripts/eld-tables.mjs), loaded with JSON.parse: the same answers as
 * eld's own module, and refused when written for another eld version.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { eld as eldModule } from 'eld/medium';
import { detectorFromTables } from '../../../src/scrape/language.js';
import { tempDir } from '../../helpers/temp.js';

const TEXTS = [
  'The quick brown fox jumps over the lazy dog while the farmer watches from the porch of his old house.',
  'Der schnelle braune Fuchs springt über den faulen Hund, während der Bauer von der Veranda zusieht.',
  'Le renard brun rapide saute par-dessus le chien paresseux pendant que le fermier regarde depuis le porche.',
  'El rápido zorro marrón salta sobre el perro perezoso mientras el granjero mira desde el porche de su casa.',
  'Быстрая коричневая лиса прыгает через ленивую собаку, пока фермер смотрит с крыльца своего старого дома.',
  '敏捷的棕色狐狸跳过了懒狗，农夫在他老房子的门廊上看着。这是一个用来测试语言检测的句子。',
  'Szybki brązowy lis przeskakuje nad leniwym psem, podczas gdy rolnik patrzy z ganku swojego starego domu.',
];

describe('eld tables as JSON', () => {
  const dir = tempDir();
  const file = path.join(dir, 'eld-medium.json');
  beforeAll(() => {
    execFileSync(process.execPath, [path.resolve('scripts/eld-tables.mjs'), file]);
  });

  it('give the same scores as eld/medium, text by text', async () => {
    const detector = await detectorFromTables(file);
    expect(detector).toBeDefined();
    for (const text of TEXTS) {
      const ours = detector!.detect(text);
      const theirs = eldModule.detect(text);
      expect(ours.language).toBe(theirs.language);
      expect(ours.getScores()).toEqual(theirs.getScores());
      expect(ours.isReliable()).toBe(theirs.isReliable());
    }
  });

  it('are not used when absent or written for another eld version', async () => {
    expect(await detectorFromTables(path.join(dir, 'missing.json'))).toBeUndefined();
    const other = path.join(dir, 'other.json');
    const tables = JSON.parse(fs.readFileSync(file, 'utf8')) as { eld: string };
    fs.writeFileSync(other, JSON.stringify({ ...tables, eld: '0.0.1' }));
    expect(await detectorFromTables(other)).toBeUndefined();
  });
});
