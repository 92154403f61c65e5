import { LabIcon } from '@jupyterlab/ui-components';

const lakeSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <ellipse cx="12" cy="6" rx="8" ry="3"/>
    <path d="M4 9c0 1.7 3.6 3 8 3s8-1.3 8-3v3c0 1.7-3.6 3-8 3s-8-1.3-8-3z"/>
    <path d="M4 15c0 1.7 3.6 3 8 3s8-1.3 8-3v3c0 1.7-3.6 3-8 3s-8-1.3-8-3z"/>
  </g>
</svg>`;

export const lakeIcon = new LabIcon({ name: 'odlake:lake', svgstr: lakeSvg });
