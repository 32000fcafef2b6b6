import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { ResumeNotice } from './ResumeNotice';

describe('ResumeNotice', () => {
  it('names the id that could not be resumed and offers a dismiss button', () => {
    const html = renderToStaticMarkup(createElement(ResumeNotice, { lastId: '1764342000123-0', onDismiss: () => {} }));
    expect(html).toContain('data-testid="resume-notice"');
    expect(html).toContain('#1764342000123-0');
    expect(html).toMatch(/could not be replayed/);
    expect(html).toMatch(/current state/);
    expect(html).toContain('data-testid="resume-notice-dismiss"');
  });
});
